// The transcript page's small enhancements: dialogs opened in place (their links also work without
// script), Copy, focus after an inline edit closes, and a reload when processing finishes.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Esc leaves an inline edit. Delegated from the document, so it works the moment a freshly swapped
  // form is on screen (an hx-trigger on that form would only listen once htmx has processed it).
  document.addEventListener("keyup", function (event) {
    if (event.key !== "Escape" || !window.htmx) return;
    var editor = event.target.closest && event.target.closest("[data-esc-cancel]");
    if (editor) htmx.ajax("GET", editor.dataset.escCancel, { target: editor, swap: "outerHTML" });
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.openDialog);
      if (dialog && dialog.showModal) {
        event.preventDefault();
        if (dialog.open) dialog.close(); // shown without script (?confirm=delete): reopen as a modal
        dialog.showModal();
      }
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closer.closest("dialog").close();
    }
  });

  // The transcript as Markdown. The clipboard gets a promise so browsers keep the click's permission
  // while the text downloads; older ones get the text once it is here.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var status = document.querySelector("[data-copy-status]");
    var text = fetch(button.dataset.copy).then(function (response) {
      if (!response.ok) throw new Error(response.statusText);
      return response.text();
    });
    var copied = window.ClipboardItem && navigator.clipboard.write
      ? navigator.clipboard.write([new ClipboardItem({ "text/plain": text.then(function (t) { return new Blob([t], { type: "text/plain" }); }) })])
      : text.then(function (t) { return navigator.clipboard.writeText(t); });
    copied
      .then(function () { status.textContent = "Copied as Markdown"; })
      .catch(function () { status.textContent = "Could not copy: use Export instead"; });
    setTimeout(function () { status.textContent = ""; }, 4000);
  });

  // After Save or Cancel the form is gone: put focus back on its Edit button, not on the page's top.
  document.addEventListener("htmx:afterSwap", function (event) {
    var swapped = document.getElementById(event.detail.target.id);
    if (!swapped || swapped.querySelector("form.inline-edit")) return;
    var edit = swapped.querySelector("#edit-title, #edit-summary");
    if (edit && document.activeElement === document.body) edit.focus();
  });

  // Rendered mid-processing: once it ends the whole page changes (player, text), so load it again.
  document.addEventListener("live:STATUS", function (event) {
    var page = document.querySelector(".transcript[data-status]");
    var value = event.detail && event.detail.value;
    if (page && page.dataset.status !== value && (value === "ended" || value === "error")) location.reload();
  });
})();
