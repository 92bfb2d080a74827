// The correction workspace without a build step: select words (click, shift+click, Space, Shift+Space)
// into the "Assign words" form, open a word's editor (double-click, Enter), move between topics (← →).
// Every action stays a plain form or link; this file only makes them quicker to reach.
(function () {
  "use strict";

  var anchor = null; // the word a shift+click extends from

  function workspace() { return document.getElementById("workspace"); }
  function words() { return Array.prototype.slice.call(document.querySelectorAll("#workspace .word")); }
  function field(id) { return document.getElementById(id); }

  function isTyping(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(target.tagName));
  }

  function indexOf(word) { return Number(word.dataset.index); }

  // The selection lives in the form's two selects, so it survives without this script and is what gets posted.
  function select(first, last) {
    var from = field("assign-first"), to = field("assign-last");
    if (!from || !to) return;
    from.value = String(Math.min(first, last));
    to.value = String(Math.max(first, last));
    paint();
  }

  function paint() {
    var from = field("assign-first"), to = field("assign-last"), status = field("selection-status");
    if (!from || !to || !status) return;
    var hasRange = from.value !== "" && to.value !== "";
    var low = Math.min(Number(from.value), Number(to.value)), high = Math.max(Number(from.value), Number(to.value));
    var chosen = [];
    words().forEach(function (word) {
      var on = hasRange && indexOf(word) >= low && indexOf(word) <= high;
      word.classList.toggle("selected", on);
      if (on) chosen.push(word.textContent.trim());
    });
    status.classList.toggle("active", chosen.length > 0);
    if (!chosen.length) {
      status.textContent = "No words selected.";
      return;
    }
    var shown = chosen.length > 8 ? chosen.slice(0, 4).concat("…", chosen.slice(-3)) : chosen;
    status.textContent = "Selected " + chosen.length + (chosen.length === 1 ? " word: " : " words: ") +
      "“" + shown.join(" ") + "”. Choose who said them, then press Assign.";
  }

  function pick(word, extend) {
    var index = indexOf(word);
    if (extend && anchor !== null) {
      select(anchor, index);
    } else {
      anchor = index;
      select(index, index);
    }
  }

  function openEditor(word) {
    if (window.htmx) {
      var url = word.getAttribute("href").split("#")[0];
      window.htmx.ajax("GET", url, { target: "#workspace", swap: "outerHTML" });
    } else {
      window.location.href = word.href;
    }
  }

  document.addEventListener("click", function (event) {
    var word = event.target instanceof Element && event.target.closest("#workspace .word");
    if (!word) return;
    event.preventDefault();
    pick(word, event.shiftKey);
  });

  document.addEventListener("dblclick", function (event) {
    var word = event.target instanceof Element && event.target.closest("#workspace .word");
    if (!word) return;
    event.preventDefault();
    openEditor(word);
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var word = target instanceof Element && target.closest("#workspace .word");
    if (word && event.key === "Enter") {
      event.preventDefault();
      openEditor(word);
      return;
    }
    if (word && event.key === " ") {
      event.preventDefault();
      pick(word, event.shiftKey);
      return;
    }
    if (event.key === "Escape" && target instanceof Element && target.id === "word-text") {
      event.preventDefault();
      var cancel = document.querySelector("#workspace .word-cancel");
      if (cancel) cancel.click();
      return;
    }
    if ((event.key === "ArrowLeft" || event.key === "ArrowRight") && !isTyping(target) &&
        !event.altKey && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      var link = field(event.key === "ArrowLeft" ? "topic-prev" : "topic-next");
      if (link) {
        event.preventDefault();
        link.click();
      }
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.id === "assign-first" || target.id === "assign-last") {
      anchor = target.id === "assign-first" && target.value !== "" ? Number(target.value) : anchor;
      paint();
    }
    if (target.id === "assign-target" && target.value === "new") {
      var name = field("assign-name");
      if (name) name.focus();
    }
  });

  // A swap replaces what had focus: put it back where the person was working.
  var focusedId = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    focusedId = active && active.id ? active.id : null;
  });

  document.addEventListener("htmx:afterSettle", function () {
    var root = workspace();
    if (!root) return;
    anchor = null;
    paint();
    var editor = field("word-text");
    var focusWord = root.dataset.focusWord !== undefined ? field("w-" + root.dataset.focusWord) : null;
    var notice = root.querySelector(".notice-error");
    var target = editor || notice || focusWord || (focusedId && field(focusedId)) || root.querySelector(".notice");
    if (target) target.focus();
    if (editor) editor.select();
  });

  document.addEventListener("DOMContentLoaded", function () {
    paint();
    var editor = field("word-text");
    if (editor) { editor.focus(); editor.select(); }
  });
})();
