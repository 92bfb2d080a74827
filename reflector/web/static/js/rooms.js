// Rooms: the room form opens in a dialog (htmx loads it there), and a room's consent question is sent to
// POST /v1/meetings/{id}/consent. Without this file both are plain pages and forms that work the same.
(function () {
  "use strict";

  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = event.target.closest && event.target.closest("dialog#room-dialog");
    if (dialog && !dialog.open) dialog.showModal();
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-close-dialog]");
    var dialog = cancel && cancel.closest("dialog");
    if (dialog) {
      event.preventDefault();
      dialog.close();
    }
  });

  // The consent dialog: modal where the browser can, its answer sent to the API (which remembers an
  // anonymous browser by its cookie), then the page shown again without the question.
  function openConsent() {
    var consent = document.getElementById("consent-dialog");
    if (consent && consent.open && consent.showModal) {
      consent.close();
      consent.showModal();
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", openConsent);
  else openConsent();

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-consent-api]")) return;
    event.preventDefault();
    var given = event.submitter ? event.submitter.value === "yes" : false;
    var status = form.querySelector("[data-consent-status]");
    fetch(form.dataset.consentApi, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ consent_given: given })
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      window.location.reload();
    }).catch(function () {
      status.textContent = "Your answer was not saved; try again.";
    });
  });
})();
