// The New transcript form with JavaScript: it creates the transcript through POST /v1/transcripts, then
// sends the file in slices (Blob.slice, so the file is never read whole into memory) to
// /v1/transcripts/{id}/record/upload with a progress bar. An interrupted upload resumes: the page
// remembers which transcript a file went to (localStorage), asks the server which chunks it keeps and
// sends only the others. A chunk that fails on the network is retried with backoff.
// The form's data-chunk-bytes and data-retry-ms set the slice size and the first retry delay.
(function () {
  "use strict";
  var STORE_KEY = "reflector.upload";
  var TRIES = 4;

  var form = document.getElementById("new-transcript");
  if (!form || !window.fetch || !window.localStorage) return;
  var fileInput = form.querySelector("#file");
  var errorText = form.querySelector("#file-error");
  var submit = form.querySelector("[data-submit]");
  var panel = form.querySelector("[data-upload-progress]");
  var bar = panel.querySelector("progress");
  var percent = panel.querySelector("[data-upload-percent]");
  var statusText = panel.querySelector("[data-upload-status]");
  var retry = panel.querySelector("[data-retry]");
  var notice = form.querySelector("[data-resume-notice]");
  var busy = false;

  function HttpError(status, detail) {
    this.status = status;
    this.detail = detail;
  }

  function remembered() {
    try {
      return JSON.parse(localStorage.getItem(STORE_KEY));
    } catch (e) {
      return null;
    }
  }
  function remember(state) { localStorage.setItem(STORE_KEY, JSON.stringify(state)); }
  function forget() { localStorage.removeItem(STORE_KEY); }
  function sameFile(state, file) {
    return !!(state && file && state.fileName === file.name && state.fileSize === file.size &&
      state.lastModified === file.lastModified);
  }

  function bytes(n) {
    var units = ["bytes", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }

  function showError(message) {
    errorText.textContent = message;
    fileInput.setAttribute("aria-invalid", "true");
  }
  function clearError() {
    errorText.textContent = "";
    fileInput.removeAttribute("aria-invalid");
  }
  function say(message) { statusText.textContent = message; }

  function problemWith(file) {
    if (!file) return "Choose a recording to upload.";
    var name = file.name.toLowerCase();
    var suffix = name.lastIndexOf(".") >= 0 ? name.slice(name.lastIndexOf(".")) : "";
    var known = form.dataset.suffixes.split(",").indexOf(suffix) >= 0 || /^(audio|video)\//.test(file.type);
    if (!known) {
      return "“" + file.name + "” is not an audio or video file. Choose an mp3, m4a, wav, mp4, mov, webm, " +
        "ogg or flac recording.";
    }
    if (file.size === 0) return "“" + file.name + "” is empty. Choose another recording.";
    var max = Number(form.dataset.maxBytes);
    if (max && file.size > max) return form.dataset.tooLarge;
    return "";
  }

  function setProgress(sent, total) {
    var share = total ? Math.min(sent / total, 1) : 1;
    bar.value = Math.floor(share * 100);
    percent.textContent = Math.floor(share * 100) + "%";
    bar.setAttribute("aria-valuetext", bytes(sent) + " of " + bytes(total));
  }

  function detailOf(text, status) {
    try {
      var body = JSON.parse(text);
      if (typeof body.detail === "string") return body.detail;
      if (Array.isArray(body.detail)) return body.detail.map(function (p) { return p.msg; }).join("; ");
    } catch (e) { /* not JSON: say the status instead */ }
    return "The server answered with error " + status + ".";
  }

  async function call(method, url, body) {
    var response;
    try {
      response = await fetch(url, {
        method: method,
        headers: body ? { "Content-Type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw new HttpError(0, "The server could not be reached.");
    }
    var text = await response.text();
    if (!response.ok) throw new HttpError(response.status, detailOf(text, response.status));
    return text ? JSON.parse(text) : null;
  }

  // XMLHttpRequest rather than fetch: only it reports how much of a request body has gone out.
  function sendChunk(url, blob, filename, onSent) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      var data = new FormData();
      data.append("chunk", blob, filename);
      xhr.open("POST", url);
      xhr.upload.onprogress = function (e) { onSent(e.loaded); };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) resolve();
        else reject(new HttpError(xhr.status, detailOf(xhr.responseText, xhr.status)));
      };
      xhr.onerror = xhr.onabort = xhr.ontimeout = function () {
        reject(new HttpError(0, "The connection was lost."));
      };
      xhr.send(data);
    });
  }

  function retryable(error) {
    return error.status === 0 || error.status >= 500 || error.status === 408 || error.status === 429;
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  async function sendWithRetries(url, blob, filename, onSent) {
    var delay = Number(form.dataset.retryMs || 1000);
    for (var attempt = 1; ; attempt++) {
      try {
        return await sendChunk(url, blob, filename, onSent);
      } catch (error) {
        if (!retryable(error) || attempt >= TRIES) throw error;
        say("Connection problem; trying again in " + Math.ceil(delay / 1000) + " s…");
        await sleep(delay);
        delay *= 2;
      }
    }
  }

  function uploadState(transcriptId, total) {
    return call("GET", "/transcripts/" + encodeURIComponent(transcriptId) + "/upload?total_chunks=" + total);
  }

  // A transcript whose upload was refused or abandoned holds nothing: remove it rather than leave an
  // empty row in Browse. One whose upload completed is never touched.
  async function discard(transcriptId) {
    try {
      var state = await uploadState(transcriptId, 1);
      if (state.status === "idle") await call("DELETE", "/v1/transcripts/" + encodeURIComponent(transcriptId));
    } catch (e) { /* already gone, or unreachable: nothing more to do */ }
  }

  async function transcriptFor(file) {
    var state = remembered();
    if (sameFile(state, file)) return state;
    var language = form.querySelector("#source_language").value;
    var created = await call("POST", "/v1/transcripts", {
      name: form.querySelector("#name").value.trim(),
      source_language: language,
      target_language: language,
      source_kind: "file",
    });
    // Named before the first chunk goes: processing starts with the last one and reads the names.
    var names = form.querySelector("#participants").value.split(",")
      .map(function (n) { return n.trim(); })
      .filter(function (n, i, all) { return n && all.indexOf(n) === i; });
    if (names.length) {
      await call("PATCH", "/v1/transcripts/" + encodeURIComponent(created.id), {
        participants: names.map(function (n) { return { name: n, speaker: null }; }),
      });
    }
    state = {
      transcriptId: created.id, fileName: file.name, fileSize: file.size, lastModified: file.lastModified,
      chunkBytes: Number(form.dataset.chunkBytes), name: form.querySelector("#name").value, language: language,
    };
    remember(state);
    return state;
  }

  function finished(transcriptId) {
    setProgress(1, 1);
    say("Upload complete. Opening the processing view…");
    forget();
    location.assign("/transcripts/" + encodeURIComponent(transcriptId) + "/processing");
  }

  async function upload(file) {
    var state = null;
    var sent = 0;
    busy = true;
    submit.disabled = fileInput.disabled = retry.hidden = true;
    submit.hidden = panel.hidden = false;
    notice.hidden = true;
    clearError();
    say("Starting the upload…");
    try {
      state = await transcriptFor(file);
      var size = state.chunkBytes;
      var total = Math.max(1, Math.ceil(file.size / size));
      var kept;
      try {
        kept = await uploadState(state.transcriptId, total);
      } catch (error) {
        if (error.status !== 404) throw error;
        forget(); // the transcript was deleted meanwhile: start afresh
        busy = fileInput.disabled = false;
        return upload(file);
      }
      if (kept.status !== "idle") return finished(state.transcriptId);
      var keptSizes = {};
      kept.chunks.forEach(function (chunk) { keptSizes[chunk.number] = chunk.size; });
      var missing = [];
      for (var n = 0; n < total; n++) {
        var length = Math.min(file.size, (n + 1) * size) - n * size;
        if (keptSizes[n] === length) sent += length;
        else missing.push(n);
      }
      // Every chunk is kept but the upload never completed (storing it failed): re-sending the last
      // chunk joins them.
      if (!missing.length) {
        missing.push(total - 1);
        sent -= file.size - (total - 1) * size;
      }
      setProgress(sent, file.size);
      for (var i = 0; i < missing.length; i++) {
        var number = missing[i];
        var blob = file.slice(number * size, Math.min(file.size, (number + 1) * size));
        var url = "/v1/transcripts/" + encodeURIComponent(state.transcriptId) + "/record/upload?chunk_number=" +
          number + "&total_chunks=" + total;
        say("Uploading " + bytes(sent) + " of " + bytes(file.size) + "…");
        await sendWithRetries(url, blob, file.name, function (loaded) {
          setProgress(sent + Math.min(loaded, blob.size), file.size);
        });
        sent += blob.size;
        setProgress(sent, file.size);
      }
      finished(state.transcriptId);
    } catch (error) {
      busy = false;
      submit.disabled = fileInput.disabled = false;
      if (error.status && !retryable(error)) {
        // The server refused the file: say why beside the file input.
        showError(error.detail);
        say("Upload refused.");
        panel.hidden = true;
        if (state) {
          forget();
          await discard(state.transcriptId);
        }
        return;
      }
      var reason = /[.!?]$/.test(error.detail) ? error.detail : error.detail + ".";
      say("The upload stopped at " + percent.textContent + ". " + reason + " Retry now, or come back later " +
        "and choose the same file: the part already sent is kept.");
      submit.hidden = true;
      retry.hidden = false;
    }
  }

  function chosen() {
    var file = fileInput.files[0];
    clearError();
    submit.hidden = false;
    retry.hidden = panel.hidden = true;
    if (file) {
      var problem = problemWith(file);
      if (problem) showError(problem);
    }
    submit.textContent = sameFile(remembered(), file) ? "Resume upload" : "Upload and transcribe";
  }

  fileInput.addEventListener("change", chosen);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) return;
    var file = fileInput.files[0];
    var problem = problemWith(file);
    if (problem) {
      showError(problem);
      fileInput.focus();
      return;
    }
    upload(file);
  });

  retry.addEventListener("click", function () {
    if (!busy && fileInput.files[0]) upload(fileInput.files[0]);
  });

  var zone = form.querySelector("[data-drop-zone]");
  zone.addEventListener("dragover", function (event) {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", function () { zone.classList.remove("dragging"); });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (busy || !event.dataTransfer.files.length) return;
    fileInput.files = event.dataTransfer.files;
    chosen();
  });

  var interrupted = remembered();
  if (interrupted) {
    notice.querySelector("[data-resume-file]").textContent =
      "“" + interrupted.fileName + "” (" + bytes(interrupted.fileSize) + ")";
    notice.hidden = false;
    form.querySelector("#name").value = interrupted.name || "";
    form.querySelector("#source_language").value = interrupted.language || "en";
    notice.querySelector("[data-discard]").addEventListener("click", function () {
      forget();
      notice.hidden = true;
      submit.textContent = "Upload and transcribe";
      discard(interrupted.transcriptId);
    });
  }
})();
