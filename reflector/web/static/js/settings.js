// API keys: copy a new key to the clipboard, and confirm in a dialog before a key is revoked.
// Without this file the page still works: the key can be selected by hand and the server asks first.
(function () {
  "use strict";

  function copyKey(button) {
    var field = document.getElementById(button.dataset.copy);
    var status = button.closest(".key-reveal").querySelector("[data-copy-status]");
    function done(message) { status.textContent = message; }
    field.select();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(
        function () { done("Copied to the clipboard."); },
        function () { done("Press Ctrl+C (⌘C on a Mac) to copy the selected key."); }
      );
    } else {
      done("Press Ctrl+C (⌘C on a Mac) to copy the selected key.");
    }
  }

  function askBeforeRevoking(rowForm) {
    var dialog = document.getElementById("revoke-dialog");
    dialog.querySelector('[data-field="name"]').textContent = rowForm.dataset.name;
    dialog.querySelector("form").action = rowForm.action;
    dialog.showModal();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (button) copyKey(button);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("form[data-confirm-revoke]")) {
      event.preventDefault();
      askBeforeRevoking(form);
      return;
    }
    var dialog = form.closest("#revoke-dialog");
    var cancelled = event.submitter && event.submitter.getAttribute("formmethod") === "dialog";
    if (!dialog || cancelled || !window.htmx) return;
    // Revoke, then swap in the keys as they are now.
    event.preventDefault();
    dialog.close();
    window.htmx.ajax("POST", form.action, { target: "#api-keys", swap: "outerHTML", values: { confirmed: "yes" } });
  });
})();
