// The live recorder: the chosen microphone (optionally mixed with a browser tab's audio) goes to the
// server over WebRTC, the way Reflector's clients send it (one POST of the offer, STOP on the data
// channel). Captions arrive as TRANSCRIPT events through live.js: a partial caption is replaced by the
// next one of the same index, a final one stays. When the recording stops, the page follows to the
// processing view, which opens the transcript when it is ready.
(function () {
  "use strict";
  var root = document.querySelector("[data-recorder]");
  if (!root) return;
  var id = root.dataset.transcriptId;
  var $ = function (sel) { return root.querySelector(sel); };
  var startButton = $("[data-start]"), stopButton = $("[data-stop]"), micSelect = $("[data-microphone]");
  var tabBox = $("[data-tab-audio]"), elapsed = $("[data-elapsed]"), canvas = $("[data-level]");
  var statusLine = $("[data-status]"), errorLine = $("[data-error]"), captions = $("[data-captions]");
  var session = null;

  function say(text) { statusLine.textContent = text; }
  function fail(text) { errorLine.textContent = text; errorLine.hidden = false; }

  function clock(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = Math.floor(seconds % 60);
    var mm = (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
    return h ? h + ":" + mm : mm;
  }

  function microphoneError(err) {
    if (err && (err.name === "NotAllowedError" || err.name === "SecurityError"))
      return "The browser did not allow the microphone. Allow it for this site (the icon in the address bar) and press Start again.";
    if (err && (err.name === "NotFoundError" || err.name === "OverconstrainedError"))
      return "No microphone was found. Plug one in, choose it above and press Start again.";
    if (err && err.name === "NotReadableError")
      return "The microphone is in use by another program or could not be opened.";
    if (!navigator.mediaDevices || !window.RTCPeerConnection)
      return "This browser cannot record here: it needs a secure (https) page and WebRTC.";
    return "The microphone could not be opened: " + (err && err.message ? err.message : err);
  }

  async function listMicrophones() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    var chosen = micSelect.value;
    var devices = await navigator.mediaDevices.enumerateDevices();
    micSelect.length = 1;
    devices.filter(function (d) { return d.kind === "audioinput" && d.deviceId && d.deviceId !== "default"; })
      .forEach(function (d, i) {
        var option = new Option(d.label || "Microphone " + (i + 1), d.deviceId);
        micSelect.add(option);
      });
    micSelect.value = chosen;
  }

  function meter(analyser) {
    var data = new Uint8Array(analyser.fftSize), ctx = canvas.getContext("2d");
    function draw() {
      if (!session) return;
      analyser.getByteTimeDomainData(data);
      var peak = 0;
      for (var i = 0; i < data.length; i++) peak = Math.max(peak, Math.abs(data[i] - 128) / 128);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = peak > 0.9 ? "#c0392b" : "#2e7d32";
      ctx.fillRect(0, 0, Math.round(canvas.width * Math.min(1, peak * 1.4)), canvas.height);
      session.level = peak;
      requestAnimationFrame(draw);
    }
    requestAnimationFrame(draw);
  }

  function gathered(peer) {
    // Non-trickle ICE, as Reflector's signalling: the offer carries every candidate.
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise(function (resolve) {
      var done = function () { if (peer.iceGatheringState === "complete") resolve(); };
      peer.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000);
    });
  }

  async function wakeLock() {
    if (!session || !navigator.wakeLock) return;
    try {
      var lock = await navigator.wakeLock.request("screen"), s = session;
      s.wake = lock;
      // The browser lets it go when the tab is hidden; it is asked for again when the tab is back.
      lock.addEventListener("release", function () { if (s.wake === lock) s.wake = null; });
    } catch (e) { /* refused (battery saver, no permission): recording goes on */ }
  }

  function release() {
    if (!session) return;
    var s = session;
    session = null;
    clearInterval(s.timer);
    s.streams.forEach(function (st) { st.getTracks().forEach(function (t) { t.stop(); }); });
    if (s.audio) s.audio.close();
    if (s.wake) s.wake.release().catch(function () {});
    if (s.peer) s.peer.close();
  }

  // One peer connection for the session's stream: offer, the server's answer, and a watch on it.
  async function connect(s) {
    var peer = new RTCPeerConnection();
    s.stream.getAudioTracks().forEach(function (t) { peer.addTrack(t, s.stream); });
    var channel = peer.createDataChannel("data");
    try {
      await peer.setLocalDescription(await peer.createOffer());
      await gathered(peer);
      var answer = await fetch("/v1/transcripts/" + encodeURIComponent(id) + "/record/webrtc", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sdp: peer.localDescription.sdp, type: peer.localDescription.type }),
      });
      var body = await answer.json().catch(function () { return {}; });
      if (!answer.ok) throw new Error(body.detail || "The server refused to record (" + answer.status + ").");
      await peer.setRemoteDescription(body);
    } catch (err) {
      peer.close();
      throw err;
    }
    var old = s.peer;
    s.peer = peer;
    s.channel = channel;
    if (old) old.close();
    function dropped() { return session === s && s.peer === peer && !s.stopping; }
    peer.addEventListener("connectionstatechange", function () {
      if (dropped() && (peer.connectionState === "failed" || peer.connectionState === "disconnected")) reconnect(s);
    });
    // The server closing its side shows here at once; the connection state follows seconds later.
    channel.addEventListener("close", function () { if (dropped()) reconnect(s); });
  }

  // A dropped connection: the server keeps the recording open for 30 s, so offer again until it takes us
  // back (it answers 409 while it has not yet noticed that the old connection is gone).
  async function reconnect(s) {
    if (s.reconnecting) return;
    s.reconnecting = true;
    say("Connection lost: reconnecting… What was sent so far is kept.");
    var deadline = performance.now() + 30000;
    while (session === s && performance.now() < deadline) {
      try {
        await connect(s);
        s.reconnecting = false;
        say("Recording again after a dropped connection.");
        return;
      } catch (err) {
        await new Promise(function (resolve) { setTimeout(resolve, 2000); });
      }
    }
    if (session === s) {
      release();
      fail("The connection could not be restored. What was received is kept and is being processed.");
      say("Not recording.");
    }
  }

  async function start() {
    errorLine.hidden = true;
    startButton.disabled = true;
    var streams = [];
    try {
      var constraints = { audio: micSelect.value ? { deviceId: { exact: micSelect.value } } : true };
      var mic;
      try {
        mic = await navigator.mediaDevices.getUserMedia(constraints);
      } catch (err) {
        throw new Error(microphoneError(err));
      }
      streams.push(mic);
      listMicrophones();
      var audio = new AudioContext();
      var mix = audio.createMediaStreamDestination();
      var analyser = audio.createAnalyser();
      analyser.fftSize = 1024;
      var micSource = audio.createMediaStreamSource(mic);
      micSource.connect(mix);
      micSource.connect(analyser);
      if (tabBox.checked) {
        var tab;
        try {
          tab = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
        } catch (err) {
          throw new Error("No tab was shared, so only the microphone would be recorded. Untick the tab option or share a tab.");
        }
        streams.push(tab);
        if (!tab.getAudioTracks().length)
          throw new Error("The shared tab sends no sound: share it again and tick “Share tab audio”.");
        var tabSource = audio.createMediaStreamSource(new MediaStream(tab.getAudioTracks()));
        tabSource.connect(mix);
        tabSource.connect(analyser);
      }
      session = { streams: streams, audio: audio, timer: null, started: 0, level: 0 };
      meter(analyser);

      say("Connecting…");
      session.stream = mix.stream;
      await connect(session);
      session.started = performance.now();
      session.timer = setInterval(function () {
        elapsed.textContent = clock((performance.now() - session.started) / 1000);
      }, 250);
      await wakeLock();
      say("Recording. Press Stop when the meeting is over.");
      startButton.hidden = true;
      stopButton.hidden = false;
      micSelect.disabled = tabBox.disabled = true;
      root.classList.add("is-recording");
    } catch (err) {
      release();
      streams.forEach(function (st) { st.getTracks().forEach(function (t) { t.stop(); }); });
      fail(err.message || String(err));
      say("Not recording.");
      startButton.disabled = false;
    }
  }

  function stop() {
    if (!session) return;
    stopButton.disabled = true;
    session.stopping = true;
    say("Stopping: the recording is being saved…");
    try { session.channel.send(JSON.stringify({ cmd: "STOP" })); } catch (e) { /* closing the peer stops it too */ }
    var s = session;
    // Give the data channel a moment to deliver STOP before the peer goes.
    setTimeout(function () { if (session === s) release(); }, 1500);
  }

  var leaving = false;
  function follow(status) {
    // Several STATUS events come in a row (uploaded, processing): the page goes once.
    if (leaving) return;
    if (status === "uploaded" || status === "processing" || status === "ended" || status === "error") {
      leaving = true;
      if (session) release();
      say("Saved. Opening the transcript’s progress…");
      location.assign("/transcripts/" + encodeURIComponent(id) + "/processing");
    }
  }

  function showCaption(data) {
    var empty = root.querySelector("[data-captions-empty]");
    if (empty) empty.remove();
    var line = captions.querySelector('[data-index="' + data.index + '"]');
    if (!data.text) { if (line) line.remove(); return; }
    if (!line) {
      line = document.createElement("p");
      line.dataset.index = data.index;
      line.className = "caption";
      var time = document.createElement("span");
      time.className = "caption-time";
      time.textContent = clock(data.start || 0);
      line.appendChild(time);
      line.appendChild(document.createElement("span"));
      captions.appendChild(line);
    }
    line.children[1].textContent = " " + data.text;
    line.classList.toggle("partial", !data.final);
    captions.scrollTop = captions.scrollHeight;
  }

  document.body.addEventListener("live:TRANSCRIPT", function (e) { showCaption(e.detail); });
  document.body.addEventListener("live:TRANSLATION", function (e) {
    var line = captions.querySelector('[data-index="' + e.detail.index + '"]');
    if (!line || !e.detail.translation) return;
    var shown = line.querySelector(".translation") || line.appendChild(document.createElement("span"));
    shown.className = "translation";
    shown.lang = e.detail.target_language;
    shown.textContent = e.detail.translation;
    shown.title = "Machine translation";
  });
  document.body.addEventListener("live:TOPIC", function (e) {
    var item = document.createElement("li"), title = document.createElement("strong");
    title.textContent = e.detail.title;
    item.appendChild(title);
    if (e.detail.summary) item.appendChild(document.createTextNode(" " + e.detail.summary));
    root.querySelector("[data-topics]").appendChild(item);
  });
  document.body.addEventListener("live:STATUS", function (e) { follow(e.detail.value); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && session && !session.wake) wakeLock();
  });
  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener)
    navigator.mediaDevices.addEventListener("devicechange", listMicrophones);
  listMicrophones();
  window.addEventListener("beforeunload", function (e) {
    if (session) { e.preventDefault(); e.returnValue = ""; }
  });
})();
