// Live updates for every page: opens the /v1 event sockets a page asks for (an element with
// data-live-transcript="<id>", or data-live-user) and re-dispatches each event on document.body as
// `live:<EVENT>` (detail = the event's data), so templates react with htmx, e.g.
// hx-trigger="live:STATUS from:body". The socket replays the stored log first, then live events;
// a dropped connection is reopened with backoff (codes >= 4000 mean "don't": not found, not allowed).
(function () {
  "use strict";
  function connect(path) {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    var delay = 500;
    function open() {
      var socket = new WebSocket(url);
      socket.onopen = function () { delay = 500; };
      socket.onmessage = function (message) {
        var event = JSON.parse(message.data);
        document.body.dispatchEvent(new CustomEvent("live:" + event.event, { detail: event.data, bubbles: true }));
      };
      socket.onclose = function (closed) {
        if (closed.code >= 4000) return;
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    open();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-transcript]").forEach(function (el) {
      // The record page shows partial captions as they change; other pages need only final ones.
      var query = el.hasAttribute("data-live-partials") ? "?partials=true" : "";
      connect("/v1/transcripts/" + encodeURIComponent(el.dataset.liveTranscript) + "/events" + query);
    });
    if (document.querySelector("[data-live-user]")) connect("/v1/events");
  });
})();
