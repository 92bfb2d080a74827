// The Processing view, live: PROGRESS events (re-dispatched by live.js as `live:PROGRESS`) move the step
// bars, the overall bar and the time left. STATUS changes re-render the run through htmx (see the
// template); this only announces the new headline to screen readers.
(function () {
  "use strict";

  function timeLeft(seconds) {
    if (seconds === null || seconds === undefined) return "Estimating the time left…";
    if (seconds < 60) return "Less than a minute left";
    var minutes = Math.round(seconds / 60);
    if (minutes < 90) return "About " + minutes + " minute" + (minutes === 1 ? "" : "s") + " left";
    return "About " + Math.floor(minutes / 60) + " h " + (minutes % 60) + " min left";
  }

  function percentOf(fraction) { return Math.floor(Math.min(Math.max(fraction, 0), 1) * 100); }

  document.body.addEventListener("live:PROGRESS", function (event) {
    // A failed run's last PROGRESS events can arrive after its STATUS: they move nothing.
    var eta = document.querySelector("[data-eta]");
    if (!eta || (eta.dataset.phase !== "queued" && eta.dataset.phase !== "running")) return;
    var data = event.detail || {};
    var row = document.querySelector('.step[data-step="' + data.step + '"]');
    if (row) {
      var done = data.fraction >= 1;
      row.dataset.state = done ? "done" : "running";
      row.querySelector("progress").value = percentOf(data.fraction);
      row.querySelector("[data-step-state]").textContent = done ? "Done" : percentOf(data.fraction) + "%";
      var headline = document.querySelector("[data-run-headline]");
      var text = "Processing: " + row.dataset.label;
      if (!done && headline && headline.textContent !== text) headline.textContent = text;
    }
    var overall = document.querySelector("[data-overall]");
    if (overall && typeof data.overall === "number") {
      overall.value = percentOf(data.overall);
      document.querySelector("[data-overall-percent]").textContent = percentOf(data.overall) + "%";
      eta.textContent = timeLeft(data.eta_seconds);
    }
  });

  // A replaced live region is not read out; a steady one, given the new headline, is.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id !== "run") return;
    var headline = event.target.querySelector("[data-run-headline]");
    var announcer = document.querySelector("[data-run-announcer]");
    if (headline && announcer) announcer.textContent = headline.textContent.trim();
  });
})();
