"""Retention: the trash, and the rooms that keep their transcripts' audio for a number of days only.

A deleted transcript goes to its owner's trash (`TranscriptService.delete`): hidden from every read, list,
search and socket as a deleted one, but whole, so its owner can restore it. After TRASH_DAYS the sweep
purges it: every object stored under it (upload, mp3, waveform, step checkpoints) and every object of the
platform recordings it was made of (each participant's track, screen-share, video), then its rows. Its
owner may also delete it forever from the trash at once.

A room with `audio_retention_days` keeps its transcripts' audio that long after they were made: the same
sweep deletes it then (`delete_audio`: upload, mp3, waveform, and the platform's recording) and keeps the
text, topics, speakers and summaries.

The sweep runs in every worker's periodic loop, at most once per RETENTION_SWEEP_EVERY_S across all of them
(a Redis key, as the meetings' sweep).
"""

from datetime import datetime, timedelta

import msgspec
import structlog
from redis.asyncio import Redis

from reflector.adapters.storage import Storage
from reflector.domain.auth.models import Caller
from reflector.domain.ids import now
from reflector.domain.rooms.recordings import RecordingService
from reflector.domain.rooms.service import RoomService
from reflector.domain.transcripts.access import can_write
from reflector.domain.transcripts.models import TranscriptNotFound, TranscriptView
from reflector.domain.transcripts.service import TranscriptService
from reflector.settings import RetentionSettings

log = structlog.get_logger(__name__)

SWEEP_KEY = "retention:sweep"
BATCH = 100  # transcripts handled per query in a sweep


class TrashedTranscript(msgspec.Struct, frozen=True):
    transcript: TranscriptView
    purge_at: datetime  # when the sweep deletes it for good


class RetentionReport(msgspec.Struct):
    skipped: bool = False  # another worker swept within the period
    purged: int = 0  # transcripts deleted for good
    audio_deleted: int = 0  # transcripts whose audio their room's limit deleted
    failed: int = 0  # left for the next sweep (the store away)


class RetentionService:
    def __init__(
        self,
        transcripts: TranscriptService,
        rooms: RoomService,
        recordings: RecordingService,
        redis: Redis,
        settings: RetentionSettings,
    ) -> None:
        self._transcripts = transcripts
        self._rooms = rooms
        self._recordings = recordings
        self._redis = redis
        self.settings = settings
        # The bucket the video platforms write recordings to, when it is not the transcripts' own store
        # (set by the composition root once started).
        self.bucket: Storage | None = None

    @property
    def _bucket(self) -> Storage:
        return self.bucket or self._transcripts.storage

    def purge_at(self, transcript: TranscriptView) -> datetime:
        assert transcript.deleted_at is not None
        return transcript.deleted_at + timedelta(days=self.settings.trash_days)

    # --- a person's trash --------------------------------------------------------------------------------

    async def trash(self, caller: Caller) -> list[TrashedTranscript]:
        """The caller's trashed transcripts, the most recently deleted first."""
        if caller.user_id is None:
            return []
        return [TrashedTranscript(t, self.purge_at(t)) for t in await self._transcripts.trash_of(caller.user_id)]

    async def _theirs(self, transcript_id: str, caller: Caller) -> TranscriptView:
        """The trashed transcript when the caller may change it; to anyone else it does not exist."""
        transcript = await self._transcripts.in_trash(transcript_id)
        if not can_write(caller, transcript):
            raise TranscriptNotFound(transcript_id)
        return transcript

    async def restore(self, transcript_id: str, caller: Caller) -> TranscriptView:
        await self._theirs(transcript_id, caller)
        return await self._transcripts.restore(transcript_id)

    async def delete_forever(self, transcript_id: str, caller: Caller) -> int:
        """Purge one of the caller's trashed transcripts now; the objects removed."""
        await self._theirs(transcript_id, caller)
        return await self._purge(transcript_id)

    async def _purge(self, transcript_id: str) -> int:
        # The platform's recording first: were the store to fail after the rows went, nothing would say
        # which tracks were this transcript's.
        media = await self._recordings.forget_transcript_media(transcript_id, self._bucket, forget=True)
        return media + await self._transcripts.purge(transcript_id)

    # --- the periodic sweep ------------------------------------------------------------------------------

    async def sweep(self, *, force: bool = False) -> RetentionReport:
        """Purge the trash older than TRASH_DAYS and delete the audio rooms keep no longer; at most once
        per `sweep_every_s` across every worker (`force`: now)."""
        every = max(1, round(self.settings.sweep_every_s))
        if not await self._redis.set(SWEEP_KEY, "1", nx=not force, ex=every):
            return RetentionReport(skipped=True)
        report = RetentionReport()
        at = now()
        for transcript_id in await self._transcripts.expired_trash(
            at - timedelta(days=self.settings.trash_days), BATCH
        ):
            try:
                await self._purge(transcript_id)
                report.purged += 1
            except Exception as exc:  # the store away: purged by a later sweep
                report.failed += 1
                log.warning("retention.purge_failed", transcript_id=transcript_id, error=str(exc))
        for room in await self._rooms.with_audio_retention():
            assert room.audio_retention_days is not None
            cutoff = at - timedelta(days=room.audio_retention_days)
            for transcript_id in await self._transcripts.with_audio_before(room.id, cutoff, BATCH):
                try:
                    await self._recordings.forget_transcript_media(transcript_id, self._bucket, forget=False)
                    await self._transcripts.delete_audio(transcript_id)
                    report.audio_deleted += 1
                except Exception as exc:
                    report.failed += 1
                    log.warning("retention.audio_delete_failed", transcript_id=transcript_id, error=str(exc))
        if report.purged or report.audio_deleted or report.failed:
            log.info("retention.swept", **msgspec.structs.asdict(report))
        return report
