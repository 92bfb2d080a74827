"""Live recordings over WebRTC (Reflector's `POST /v1/transcripts/{id}/record/webrtc`): the browser's
microphone reaches this process through aiortc and is written to disk as it arrives; on STOP, or when the
peer goes away, the recording is stored as the transcript's upload and the file pipeline runs on it.

This module is the transport: the peer connection, its audio track and data channel, the file written as
audio arrives, and a browser coming back after a dropped connection (to this process, or to another web
process, which relays its offer here: `recording_relay`). Which transcript may be recorded into,
the lock that makes one recording per transcript across every web process, and what becomes of a finished
recording are the domain's (`reflector.domain.live.recordings`).
"""

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import av
import numpy as np
import structlog
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from litestar import Litestar
from litestar.datastructures import State

from reflector.bootstrap import Services
from reflector.domain.live.recordings import LOCK_REFRESH_S, RecordingInProgress
from reflector.domain.transcripts.models import TranscriptLocked
from reflector.pipelines.audio import SAMPLE_RATE
from reflector.pipelines.wav_writer import GrowingWav
from reflector.web.recording_relay import RelayedAnswer, RelayedOffer, relay, serve_relayed
from reflector.web.webrtc_network import advertised, ice_ports

log = structlog.get_logger(__name__)

# A browser whose connection dropped may come back with a new offer this long after its last audio and go
# on with the same recording; after that the recording ends and is processed.
RECONNECT_S = 30.0
# No audio for this long: the peer counts as gone even before WebRTC says so (a new offer may take over).
STALLED_S = 3.0
# Audio goes to the live worker in pieces this long (samples): short enough not to delay captions.
PIECE = SAMPLE_RATE // 10


class InvalidOffer(Exception):
    """The SDP offer cannot be answered: the transport's failure, not the domain's (answered 400)."""

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(f"Not a usable WebRTC offer: {why}")


class Recording:
    def __init__(self, services: Services, transcript_id: str, path: Path) -> None:
        self._services = services
        self.transcript_id = transcript_id
        self.peer = self._new_peer()
        self._heard = time.monotonic()  # when audio last arrived
        self._wav = GrowingWav(path, SAMPLE_RATE)
        self._feed = services.feed
        self._sent = 0  # samples given to the feed
        self._unsent: list[np.ndarray] = []
        self._unsent_samples = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._finished = asyncio.Event()
        self._finishing = False

    def _new_peer(self) -> RTCPeerConnection:
        peer = RTCPeerConnection()
        peer.on("track", self._on_track)
        peer.on("datachannel", self._on_channel)
        return peer

    async def answer(self, sdp: str, kind: str) -> RTCSessionDescription:
        """Answer an offer on the current peer; raises InvalidOffer for one that cannot be used."""
        if kind != "offer":
            raise InvalidOffer(f"type must be 'offer', not {kind!r}")
        if "\nm=audio " not in "\n" + sdp.replace("\r\n", "\n"):
            raise InvalidOffer("it offers no audio to record")
        try:
            await self.peer.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
            await self.peer.setLocalDescription(await self.peer.createAnswer())
        except Exception as exc:  # aiortc's parser raises what it likes on a malformed SDP: the offer's fault
            raise InvalidOffer(str(exc) or type(exc).__name__) from exc
        answer = self.peer.localDescription
        host = self._services.settings.server.webrtc_host
        return RTCSessionDescription(sdp=await advertised(answer.sdp, host), type=answer.type)

    @property
    def interrupted(self) -> bool:
        """The browser went away (closed, failed, or silent for a while): a new offer may take over."""
        return self.peer.connectionState in ("closed", "failed") or time.monotonic() - self._heard > STALLED_S

    async def resume(self, sdp: str, kind: str) -> RTCSessionDescription:
        """The same browser back after a dropped connection: its new peer goes on with this recording."""
        old, self.peer = self.peer, self._new_peer()
        try:
            answer = await self.answer(sdp, kind)
        except InvalidOffer:
            await self.peer.close()
            self.peer = old
            raise
        self._heard = time.monotonic()
        await old.close()
        log.info("recording.resumed", transcript_id=self.transcript_id, seconds=round(self._wav.seconds, 1))
        return answer

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._spawn(self._record(track))

    def _on_channel(self, channel: Any) -> None:
        @channel.on("message")
        def on_message(message: Any) -> None:
            if isinstance(message, str) and message.startswith("ping"):
                channel.send("pong" + message[4:])
                return
            with contextlib.suppress(ValueError, TypeError):
                if json.loads(message).get("cmd") == "STOP":
                    self._spawn(self.finish("stop"))

    async def _record(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self._heard = time.monotonic()
            for out in resampler.resample(frame):
                samples = out.to_ndarray().reshape(-1)
                self._wav.append(samples)
                self._unsent.append(samples)
                self._unsent_samples += len(samples)
            if self._unsent_samples >= PIECE:
                await self._send()

    async def _send(self) -> None:
        """Hand the audio received since the last piece to the live worker. Captions are a bonus: a Redis
        hiccup costs some of them, never the recording, which is on disk already."""
        if not self._unsent:
            return
        samples = np.concatenate(self._unsent)
        self._unsent, self._unsent_samples = [], 0
        try:
            await self._feed.push(self.transcript_id, self._sent, samples)
        except Exception as exc:
            log.warning("recording.feed_failed", transcript_id=self.transcript_id, error=str(exc))
        self._sent += len(samples)

    async def watch(self) -> None:
        """Keep the lock while the recording runs; end it when no audio came back for RECONNECT_S (the
        browser is not returning: what it sent is kept)."""
        refreshed = time.monotonic()
        while not self._finished.is_set():
            if time.monotonic() - refreshed >= LOCK_REFRESH_S:
                await self._services.recording_policy.hold(self.transcript_id)
                refreshed = time.monotonic()
            if time.monotonic() - self._heard > RECONNECT_S:
                await self.finish("peer gone")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._finished.wait(), 1.0)

    async def finish(self, reason: str) -> None:
        """Close the peer and the file, keep what was received and queue its processing (once)."""
        if self._finishing:
            return
        self._finishing = True
        await self.peer.close()
        self._wav.close()
        transcript_id = self.transcript_id
        await self._send()
        with contextlib.suppress(Exception):
            await self._feed.end(transcript_id, self._sent)
        log.info("recording.finished", transcript_id=transcript_id, reason=reason, seconds=self._wav.seconds)
        try:
            await self._services.recording_policy.keep(transcript_id, self._wav.path, self._wav.seconds)
        finally:
            self._finished.set()

    async def discard(self) -> None:
        """Forget a recording that never started (its offer was refused)."""
        await self.peer.close()
        self._wav.close()
        self._wav.path.unlink(missing_ok=True)


class LiveRecordings:
    """The recordings this process holds."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._live: dict[str, Recording] = {}
        # This process as the other web processes reach it: the recordings it holds are locked in its name.
        self.process_id = uuid.uuid4().hex

    async def start(self, transcript_id: str, sdp: str, kind: str) -> RTCSessionDescription:
        """Answer a browser's offer: a new recording of the transcript, or the one it was making going on
        (in this process, or relayed to the web process receiving it)."""
        policy = self._services.recording_policy
        current = self._live.get(transcript_id)
        if current is not None and current.interrupted:
            return await self._resume(current, sdp, kind)
        holder = await policy.holder(transcript_id) if current is None else None
        if holder is not None and holder != self.process_id:
            relayed = await relay(self._services.redis, holder, transcript_id, sdp, kind)
            if relayed is not None and relayed.outcome != "gone":
                return _answer_of(relayed)
        path = await policy.begin(transcript_id, self.process_id)
        recording = Recording(self._services, transcript_id, path)
        try:
            answer = await recording.answer(sdp, kind)
        except InvalidOffer:
            await policy.abandon(transcript_id)
            await recording.discard()
            raise
        await policy.started(transcript_id)
        self._live[transcript_id] = recording
        task = asyncio.create_task(recording.watch())
        task.add_done_callback(lambda _: self._live.pop(transcript_id, None))
        return answer

    async def _resume(self, current: Recording, sdp: str, kind: str) -> RTCSessionDescription:
        await self._services.recording_policy.may_record(current.transcript_id)
        return await current.resume(sdp, kind)

    async def answer_relayed(self, offer: RelayedOffer) -> RelayedAnswer:
        """Another web process's browser offer for a recording this one may hold."""
        current = self._live.get(offer.transcript_id)
        if current is None:
            return RelayedAnswer(outcome="gone")
        if not current.interrupted:
            return RelayedAnswer(outcome="in_progress")
        try:
            answer = await self._resume(current, offer.sdp, offer.type)
        except TranscriptLocked as exc:
            return RelayedAnswer(outcome="locked", detail=str(exc))
        except InvalidOffer as exc:
            return RelayedAnswer(outcome="invalid", detail=exc.why)
        return RelayedAnswer(outcome="answer", sdp=answer.sdp, type=answer.type)

    async def recover(self) -> list[str]:
        """At start-up: what a process that died mid-recording had written is kept and queued."""
        return await self._services.recording_policy.recover(held=self._live)

    async def close_all(self) -> None:
        """At shutdown: every recording is kept and queued, as if its peer had stopped."""
        await asyncio.gather(*(r.finish("shutdown") for r in list(self._live.values())), return_exceptions=True)


def _answer_of(relayed: RelayedAnswer) -> RTCSessionDescription:
    """The holder's answer as this process gives it to the browser, or its refusal as this process's own."""
    if relayed.outcome == "answer":
        return RTCSessionDescription(sdp=relayed.sdp, type=relayed.type)
    if relayed.outcome == "locked":
        raise TranscriptLocked(relayed.detail)
    if relayed.outcome == "invalid":
        raise InvalidOffer(relayed.detail)
    raise RecordingInProgress()


@asynccontextmanager
async def recordings_lifespan(app: Litestar) -> AsyncIterator[None]:
    relaying = None
    if "services" in app.state:
        recordings = provide_recordings(app.state)
        await recordings.recover()
        relaying = asyncio.create_task(
            serve_relayed(app.state.services.redis, recordings.process_id, recordings.answer_relayed)
        )
    try:
        async with ice_ports(app.state.settings.server.webrtc_ports):
            yield
    finally:
        if relaying is not None:
            relaying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relaying
        if "recordings" in app.state:
            await app.state.recordings.close_all()


def provide_recordings(state: State) -> LiveRecordings:
    # Made on first use, not at start-up: an app called without its lifespan (tests, embedding) records too.
    if "recordings" not in state:
        state.recordings = LiveRecordings(state.services)
    return state.recordings
