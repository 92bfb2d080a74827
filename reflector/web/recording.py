"""Live recordings over WebRTC (Reflector's `POST /v1/transcripts/{id}/record/webrtc`): the browser's
microphone reaches this process through aiortc and is written to disk as it arrives; on STOP, or when the
peer goes away, the recording is stored as the transcript's upload and the file pipeline runs on it.

One recording per transcript across every web process: a Redis lock, kept alive while audio flows.
"""

import asyncio
import contextlib
import json
import time
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
from reflector.domain.live.feed import LiveFeed, recording_lock
from reflector.domain.transcripts.models import TranscriptLocked, TranscriptNotFound
from reflector.pipelines.audio import SAMPLE_RATE
from reflector.pipelines.wav_writer import GrowingWav, seconds_written
from reflector.web.webrtc_network import advertised, ice_ports

log = structlog.get_logger(__name__)

LOCK_TTL_S = 60
LOCK_REFRESH_S = 20
# A browser whose connection dropped may come back with a new offer this long after its last audio and go
# on with the same recording; after that the recording ends and is processed.
RECONNECT_S = 30.0
# No audio for this long: the peer counts as gone even before WebRTC says so (a new offer may take over).
STALLED_S = 3.0
# Audio goes to the live worker in pieces this long (samples): short enough not to delay captions.
PIECE = SAMPLE_RATE // 10


class InvalidOffer(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(f"Not a usable WebRTC offer: {why}")


class RecordingInProgress(Exception):
    def __init__(self) -> None:
        super().__init__("This transcript is already being recorded; stop that recording first")


class AlreadyRecorded(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(
            f"This transcript already has its recording (it is {status}); record into a new transcript instead"
        )


class Recording:
    def __init__(self, services: Services, transcript_id: str, path: Path) -> None:
        self._services = services
        self.transcript_id = transcript_id
        self.peer = self._new_peer()
        self._heard = time.monotonic()  # when audio last arrived
        self._wav = GrowingWav(path, SAMPLE_RATE)
        self._feed = LiveFeed(services.redis)
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
                await self._services.redis.expire(recording_lock(self.transcript_id), LOCK_TTL_S)
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
        services, transcript_id = self._services, self.transcript_id
        await self._send()
        with contextlib.suppress(Exception):
            await self._feed.end(transcript_id, self._sent)
        log.info("recording.finished", transcript_id=transcript_id, reason=reason, seconds=self._wav.seconds)
        try:
            await _keep(services, transcript_id, self._wav.path, self._wav.seconds)
        finally:
            await services.redis.delete(recording_lock(transcript_id))
            self._finished.set()

    async def discard(self) -> None:
        """Forget a recording that never started (its offer was refused)."""
        await self.peer.close()
        self._wav.close()
        self._wav.path.unlink(missing_ok=True)


async def _keep(services: Services, transcript_id: str, path: Path, seconds: float) -> None:
    """What was received becomes the transcript's recording, queued for the file pipeline; nothing, idle."""
    try:
        if seconds > 0:
            await services.transcripts.store_upload(transcript_id, path)
            await services.runs.reprocess(transcript_id)
        else:
            await services.transcripts.set_status(transcript_id, "idle")
    except TranscriptNotFound:
        # Deleted while it was being recorded: its audio goes with it, now rather than at the next start.
        log.info("recording.dropped", transcript_id=transcript_id, reason="transcript deleted")
    except TranscriptLocked:
        # Locked while it was being recorded: the recording is kept, and processed once it is unlocked.
        log.info("recording.kept_unprocessed", transcript_id=transcript_id, reason="transcript locked")
    await asyncio.to_thread(path.unlink, missing_ok=True)


class LiveRecordings:
    """The recordings this process holds."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._live: dict[str, Recording] = {}

    async def start(self, transcript_id: str, sdp: str, kind: str) -> RTCSessionDescription:
        services = self._services
        current = self._live.get(transcript_id)
        if current is not None and current.interrupted:
            return await current.resume(sdp, kind)
        # Only a transcript without audio is recorded into: a page offering again after its recording was
        # stored (the server restarted, the 30 s passed) must not replace it.
        status = (await services.transcripts.get(transcript_id)).status
        if status == "recording":
            raise RecordingInProgress()
        if status != "idle":
            raise AlreadyRecorded(status)
        if not await services.redis.set(recording_lock(transcript_id), "1", nx=True, ex=LOCK_TTL_S):
            raise RecordingInProgress()
        path = services.settings.data_dir / "live" / f"{transcript_id}.wav"
        recording = Recording(services, transcript_id, path)
        try:
            answer = await recording.answer(sdp, kind)
        except InvalidOffer:
            await services.redis.delete(recording_lock(transcript_id))
            await recording.discard()
            raise
        await LiveFeed(services.redis).open(transcript_id)
        await services.transcripts.update(transcript_id, {"source_kind": "live"})
        await services.transcripts.set_status(transcript_id, "recording")
        self._live[transcript_id] = recording
        task = asyncio.create_task(recording.watch())
        task.add_done_callback(lambda _: self._live.pop(transcript_id, None))
        log.info("recording.started", transcript_id=transcript_id)
        return answer

    async def recover(self) -> list[str]:
        """Keep and queue what a process that died mid-recording had written: recordings on disk that no
        live process holds (their lock expired with the process). Run at start-up; the ids recovered."""
        services = self._services
        recovered = []
        for path in sorted((services.settings.data_dir / "live").glob("*.wav")):
            transcript_id = path.stem
            if transcript_id in self._live or await services.redis.exists(recording_lock(transcript_id)):
                continue
            try:
                transcript = await services.transcripts.get(transcript_id)
            except TranscriptNotFound:
                path.unlink(missing_ok=True)  # deleted while it was being recorded
                continue
            if transcript.status != "recording":
                continue
            await _keep(services, transcript_id, path, seconds=seconds_written(path, SAMPLE_RATE))
            log.info("recording.recovered", transcript_id=transcript_id)
            recovered.append(transcript_id)
        return recovered

    async def close_all(self) -> None:
        """At shutdown: every recording is kept and queued, as if its peer had stopped."""
        await asyncio.gather(*(r.finish("shutdown") for r in list(self._live.values())), return_exceptions=True)


@asynccontextmanager
async def recordings_lifespan(app: Litestar) -> AsyncIterator[None]:
    if "services" in app.state:
        await provide_recordings(app.state).recover()
    try:
        async with ice_ports(app.state.settings.server.webrtc_ports):
            yield
    finally:
        if "recordings" in app.state:
            await app.state.recordings.close_all()


def provide_recordings(state: State) -> LiveRecordings:
    # Made on first use, not at start-up: an app called without its lifespan (tests, embedding) records too.
    if "recordings" not in state:
        state.recordings = LiveRecordings(state.services)
    return state.recordings
