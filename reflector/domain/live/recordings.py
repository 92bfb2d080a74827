"""Which transcript a live recording may go into, and what becomes of it when it ends.

One recording per transcript across every web process: a Redis lock, taken when it begins, kept alive by
the process receiving the audio (`hold`) and released when it ends. What was received becomes the
transcript's recording, queued for the file pipeline (`keep`); what a process that died mid-recording had
written is kept the same way at the next start (`recover`). The audio itself arrives through the web
layer, which writes it to `path_of(transcript_id)`.
"""

import asyncio
from collections.abc import Container
from pathlib import Path
from typing import Protocol

import structlog
from redis.asyncio import Redis

from reflector.domain.errors import Conflict
from reflector.domain.live.feed import LiveFeed, recording_lock
from reflector.domain.transcripts.models import (
    TranscriptChanges,
    TranscriptLocked,
    TranscriptNotFound,
    TranscriptView,
)
from reflector.domain.transcripts.service import TranscriptService
from reflector.pipelines.audio import SAMPLE_RATE
from reflector.pipelines.wav_writer import seconds_written

log = structlog.get_logger(__name__)

LOCK_TTL_S = 60
# The process receiving a recording renews its lock this often while audio flows.
LOCK_REFRESH_S = 20


class Processing(Protocol):
    """What a kept recording needs of the processing module (a port: live and processing stay independent
    of each other, and bootstrap hands the processing service in)."""

    async def reprocess(self, transcript_id: str) -> object: ...


class RecordingInProgress(Conflict):
    def __init__(self) -> None:
        super().__init__("This transcript is already being recorded; stop that recording first")


class AlreadyRecorded(Conflict):
    def __init__(self, status: str) -> None:
        super().__init__(
            f"This transcript already has its recording (it is {status}); record into a new transcript instead"
        )


class LiveRecordingPolicy:
    def __init__(
        self, redis: Redis, feed: LiveFeed, transcripts: TranscriptService, runs: Processing, live_dir: Path
    ) -> None:
        self._redis = redis
        self._feed = feed
        self._transcripts = transcripts
        self._runs = runs
        self._live_dir = live_dir

    def path_of(self, transcript_id: str) -> Path:
        """Where the recording of this transcript is written while it is made."""
        return self._live_dir / f"{transcript_id}.wav"

    async def may_record(self, transcript_id: str) -> TranscriptView:
        """The transcript, unless it is locked: a recording of it under way may go on, a locked one not."""
        transcript = await self._transcripts.get(transcript_id)
        if transcript.locked:
            raise TranscriptLocked()
        return transcript

    async def begin(self, transcript_id: str, holder: str) -> Path:
        """Take the transcript for a new recording (its lock held from now on by `holder`, the web process
        receiving it), or refuse it; the path to write its audio to. Only a transcript without audio is
        recorded into: a page offering again after its recording was stored (the server restarted, the
        browser did not come back) must not replace it."""
        status = (await self.may_record(transcript_id)).status
        if status == "recording":
            raise RecordingInProgress()
        if status != "idle":
            raise AlreadyRecorded(status)
        if not await self._redis.set(recording_lock(transcript_id), holder, nx=True, ex=LOCK_TTL_S):
            raise RecordingInProgress()
        return self.path_of(transcript_id)

    async def holder(self, transcript_id: str) -> str | None:
        """The web process receiving the transcript's recording, while one does."""
        held = await self._redis.get(recording_lock(transcript_id))
        return held.decode() if held is not None else None

    async def started(self, transcript_id: str) -> None:
        """The recording's audio flows: captions may follow, and the transcript shows it is being recorded."""
        await self._feed.open(transcript_id)
        await self._transcripts.update(transcript_id, TranscriptChanges(source_kind="live"))
        await self._transcripts.set_status(transcript_id, "recording")
        log.info("recording.started", transcript_id=transcript_id)

    async def hold(self, transcript_id: str) -> None:
        """The recording goes on: its lock is kept another LOCK_TTL_S."""
        await self._redis.expire(recording_lock(transcript_id), LOCK_TTL_S)

    async def abandon(self, transcript_id: str) -> None:
        """A recording that never started (its offer was refused): the transcript is free again."""
        await self._redis.delete(recording_lock(transcript_id))

    async def keep(self, transcript_id: str, path: Path, seconds: float) -> None:
        """The recording ended (STOP, the browser gone, shutdown): what was received is kept and queued,
        and the transcript is free again."""
        try:
            await self._store(transcript_id, path, seconds)
        finally:
            await self._redis.delete(recording_lock(transcript_id))

    async def recover(self, held: Container[str] = ()) -> list[str]:
        """Keep and queue what a process that died mid-recording had written: recordings on disk that no
        live process holds (their lock expired with the process; `held`, this process's own). Run at
        start-up; the ids recovered."""
        recovered = []
        for path in sorted(self._live_dir.glob("*.wav")):
            transcript_id = path.stem
            # Taking the lock claims the file: of several web processes starting together, one recovers it.
            if transcript_id in held or not await self._redis.set(
                recording_lock(transcript_id), "recovering", nx=True, ex=LOCK_TTL_S
            ):
                continue
            try:
                if await self._recover(transcript_id, path):
                    recovered.append(transcript_id)
            finally:
                await self._redis.delete(recording_lock(transcript_id))
        return recovered

    async def _recover(self, transcript_id: str, path: Path) -> bool:
        try:
            transcript = await self._transcripts.get(transcript_id)
        except TranscriptNotFound:
            await asyncio.to_thread(path.unlink, missing_ok=True)  # deleted while it was being recorded
            return False
        # Another process may have kept it between the listing and the lock (its file gone with it).
        if transcript.status != "recording" or not await asyncio.to_thread(path.exists):
            return False
        await self._store(transcript_id, path, seconds=seconds_written(path, SAMPLE_RATE))
        log.info("recording.recovered", transcript_id=transcript_id)
        return True

    async def _store(self, transcript_id: str, path: Path, seconds: float) -> None:
        """What was received becomes the transcript's recording, queued for the file pipeline; nothing, idle."""
        try:
            if seconds > 0:
                await self._transcripts.store_upload(transcript_id, path)
                await self._runs.reprocess(transcript_id)
            else:
                await self._transcripts.set_status(transcript_id, "idle")
        except TranscriptNotFound:
            # Deleted while it was being recorded: its audio goes with it, now rather than at the next start.
            log.info("recording.dropped", transcript_id=transcript_id, reason="transcript deleted")
        except TranscriptLocked:
            # Locked while it was being recorded: the recording is kept, and processed once it is unlocked.
            log.info("recording.kept_unprocessed", transcript_id=transcript_id, reason="transcript locked")
        await asyncio.to_thread(path.unlink, missing_ok=True)
