// The transcript page's player: play/pause, the waveform drawn from the stored peaks (played part in
// the accent colour), seeking by clicking a word, a time stamp, a topic or the waveform, the spoken
// word highlighted while playing, and the keyboard shortcuts (space, ←/→, ?).
(function () {
  "use strict";
  var SEEK_STEP = 5; // seconds per arrow key
  var WORD_TAIL = 0.5; // a word stays highlighted this long after its end, through short pauses

  function clock(seconds, hours) {
    var total = Math.max(0, Math.floor(seconds || 0));
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    if (hours) return two(Math.floor(total / 3600)) + ":" + two(Math.floor(total % 3600 / 60)) + ":" + two(total % 60);
    return two(Math.floor(total / 60)) + ":" + two(total % 60);
  }

  function isTyping(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']");
  }

  function init() {
    var player = document.querySelector("[data-player]");
    var audio = player && player.querySelector("audio");
    if (!audio) return;
    var playButton = player.querySelector("[data-play]");
    var wave = player.querySelector("[data-wave]");
    var canvas = wave.querySelector("canvas");
    var currentLabel = player.querySelector("[data-current]");
    var totalLabel = player.querySelector("[data-total]");
    var peaks = [];
    var words = null; // the text's word elements with their times, read again after htmx swaps the text
    var current = null;
    var reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

    function duration() {
      return isFinite(audio.duration) && audio.duration > 0 ? audio.duration : parseFloat(audio.dataset.duration) || 0;
    }

    function draw() {
      var ratio = window.devicePixelRatio || 1;
      var width = Math.round(canvas.clientWidth * ratio);
      var height = Math.round(canvas.clientHeight * ratio);
      if (!width || !height) return;
      if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
      var context = canvas.getContext("2d");
      context.clearRect(0, 0, width, height);
      var styles = getComputedStyle(player.closest(".transcript") || document.body);
      var played = duration() ? audio.currentTime / duration() * width : 0;
      var bar = 2 * ratio;
      var gap = 1 * ratio;
      for (var x = 0; x < width; x += bar + gap) {
        var level = 0.04;
        if (peaks.length) {
          var first = Math.floor(x / width * peaks.length);
          var last = Math.max(first + 1, Math.floor((x + bar + gap) / width * peaks.length));
          for (var i = first; i < last && i < peaks.length; i++) level = Math.max(level, peaks[i]);
        }
        var h = Math.max(ratio, level * height);
        context.fillStyle = (x < played ? styles.getPropertyValue("--played") : styles.getPropertyValue("--wave")).trim();
        context.fillRect(x, (height - h) / 2, bar, h);
      }
    }

    function loadPeaks() {
      fetch(audio.dataset.waveform, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { data: [] }; })
        .then(function (body) { peaks = body.data || []; draw(); })
        .catch(function () { draw(); });
    }

    function wordList() {
      if (words === null) {
        words = Array.prototype.map.call(document.querySelectorAll(".transcript-text .w"), function (el) {
          return { el: el, start: parseFloat(el.dataset.start), end: parseFloat(el.dataset.end) };
        });
      }
      return words;
    }

    function wordAt(time) {
      var list = wordList();
      var low = 0, high = list.length - 1, found = -1;
      while (low <= high) { // the last word starting at or before `time`
        var mid = (low + high) >> 1;
        if (list[mid].start <= time) { found = mid; low = mid + 1; } else { high = mid - 1; }
      }
      return found >= 0 && time <= list[found].end + WORD_TAIL ? list[found].el : null;
    }

    function inView(el) {
      var rect = el.getBoundingClientRect();
      var top = player.getBoundingClientRect().bottom;
      return rect.bottom > top && rect.top < window.innerHeight;
    }

    function highlight() {
      var word = wordAt(audio.currentTime);
      if (word === current) return;
      // Follow the speech only while the reader is following it: never pull them back from elsewhere.
      var following = !current || inView(current);
      if (current) current.classList.remove("is-current");
      current = word;
      if (!word) return;
      word.classList.add("is-current");
      if (!audio.paused && following && !inView(word)) {
        word.scrollIntoView({ block: "center", behavior: reduceMotion ? "auto" : "smooth" });
      }
    }

    function showTime() {
      var hours = duration() >= 3600;
      currentLabel.textContent = clock(audio.currentTime, hours);
      totalLabel.textContent = clock(duration(), hours);
      wave.setAttribute("aria-valuenow", String(Math.round(audio.currentTime)));
      wave.setAttribute("aria-valuemax", String(Math.round(duration())));
      wave.setAttribute("aria-valuetext", clock(audio.currentTime, hours) + " of " + clock(duration(), hours));
      draw();
      highlight();
    }

    function seek(seconds) {
      var limit = duration();
      audio.currentTime = Math.max(0, limit ? Math.min(seconds, limit) : seconds);
      showTime();
    }

    function toggle() {
      if (audio.paused) audio.play().catch(function () {}); else audio.pause();
    }

    function seekFromPointer(event) {
      var rect = wave.getBoundingClientRect();
      seek((event.clientX - rect.left) / rect.width * duration());
    }

    playButton.addEventListener("click", toggle);
    audio.addEventListener("play", function () { player.classList.add("playing"); playButton.setAttribute("aria-label", "Pause"); });
    audio.addEventListener("pause", function () { player.classList.remove("playing"); playButton.setAttribute("aria-label", "Play"); });
    ["timeupdate", "seeked", "loadedmetadata", "durationchange"].forEach(function (name) { audio.addEventListener(name, showTime); });
    wave.addEventListener("pointerdown", function (event) {
      seekFromPointer(event);
      wave.setPointerCapture(event.pointerId);
    });
    wave.addEventListener("pointermove", function (event) { if (wave.hasPointerCapture(event.pointerId)) seekFromPointer(event); });
    wave.addEventListener("keydown", function (event) {
      if (event.key === "Home") { seek(0); event.preventDefault(); }
      if (event.key === "End") { seek(duration()); event.preventDefault(); }
    });

    // Words, time stamps, topics and markers, also in fragments htmx swaps in later.
    document.addEventListener("click", function (event) {
      var target = event.target.closest("[data-seek], .transcript-text .w");
      if (!target) return;
      var at = parseFloat(target.dataset.seek !== undefined ? target.dataset.seek : target.dataset.start);
      if (isNaN(at)) return;
      seek(at);
      var topic = target.matches(".topic-link") && document.querySelector(target.getAttribute("href"));
      if (topic) {
        event.preventDefault();
        topic.scrollIntoView({ block: "start", behavior: reduceMotion ? "auto" : "smooth" });
      }
    });
    document.body.addEventListener("htmx:afterSwap", function () { words = null; current = null; highlight(); });

    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || isTyping(event.target)) return;
      if (document.querySelector("dialog[open]")) return;
      var onControl = event.target.closest && event.target.closest("button, a, summary");
      if (event.key === " " && !onControl) { toggle(); event.preventDefault(); }
      else if (event.key === "ArrowLeft") { seek(audio.currentTime - SEEK_STEP); event.preventDefault(); }
      else if (event.key === "ArrowRight") { seek(audio.currentTime + SEEK_STEP); event.preventDefault(); }
    });

    window.addEventListener("resize", draw);
    loadPeaks();
    showTime();
  }

  // "?" works on every transcript page, with or without a player.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "?" || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    var dialog = document.getElementById("shortcuts-dialog");
    if (dialog && !dialog.open) { dialog.showModal(); event.preventDefault(); }
  });

  // Topic markers carry their place as data-at (percent of the recording): the page's CSP refuses style attributes.
  function placeMarkers() {
    document.querySelectorAll(".marker[data-at]").forEach(function (marker) { marker.style.left = marker.dataset.at + "%"; });
  }

  document.addEventListener("DOMContentLoaded", function () { placeMarkers(); init(); });
  document.addEventListener("htmx:afterSwap", placeMarkers);
})();
