// Browse: dates in the reader's own time zone, and a confirmation dialog before a row is deleted.
// Without this file the page still works: dates read in UTC and the server asks before deleting.
(function () {
  "use strict";
  var dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function localDates(root) {
    root.querySelectorAll("time[data-local-date]").forEach(function (el) {
      var moment = new Date(el.getAttribute("datetime"));
      if (!isNaN(moment)) el.textContent = dateFormat.format(moment);
    });
  }

  function askBeforeDeleting(rowForm) {
    var dialog = document.getElementById("delete-dialog");
    var confirmForm = dialog.querySelector("form");
    var row = rowForm.closest(".browse-row");
    var date = row.querySelector("time[data-local-date]");
    dialog.querySelector('[data-field="title"]').textContent = rowForm.dataset.title;
    dialog.querySelector('[data-field="date"]').textContent = date ? date.textContent : "";
    dialog.querySelector('[data-field="source"]').textContent = rowForm.dataset.source;
    confirmForm.action = rowForm.action;
    confirmForm.elements.next.value = rowForm.elements.next.value;
    dialog.showModal();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("form[data-confirm-delete]")) {
      event.preventDefault();
      askBeforeDeleting(form);
      return;
    }
    var dialog = form.closest("#delete-dialog");
    var cancelled = event.submitter && event.submitter.getAttribute("formmethod") === "dialog";
    if (!dialog || cancelled || !window.htmx) return;
    // Delete, then swap in the results the server redirects to, as a search would.
    event.preventDefault();
    dialog.close();
    window.htmx.ajax("POST", form.action, {
      target: "#results",
      swap: "outerHTML",
      values: { confirmed: "yes", next: form.elements.next.value },
    });
  });

  document.addEventListener("DOMContentLoaded", function () { localDates(document); });
  // An outerHTML swap settles on the element it replaced, so look over the whole page.
  document.addEventListener("htmx:afterSettle", function () { localDates(document); });
})();
