"""A platform's recording of a meeting becomes a transcript whose speakers carry the participants' names.

A recording arrives `pending` (platform_events.py, from the platform's webhook). Processing it:

  pending | failed -> processing   taken atomically, so each recording is processed once whoever asks
  processing -> completed          its transcript exists (room, meeting, owner, named after the room and
                                   the date) and a run of its tracks is queued, the participants named
  processing -> failed             something in between failed (the platform away): asked again, it is
                                   retried, and keeps the transcript it already has
  processing -> processing         left there for CLAIM_STALE_S by a process that died: taken up again
  processing -> ignored            a recording this module cannot process (no meeting of ours, no
                                   per-participant tracks): never retried

Names come from the platform's participants of the recorded meeting session, matched to the tracks by
participant id; a participant the platform does not name keeps a speaker label. What happens to the run
afterwards shows on the transcript (processing, ended, error), and reprocessing the transcript runs its
tracks again. A meeting whose room does not store video has its video tracks deleted from the bucket by
the run (they are never downloaded either way).

A recording in one file (Whereby's composite MP4, announced by its bucket: bucket_recordings.py; a Daily
cloud recording, in Daily's recordings bucket) is copied from its bucket into the transcript's upload and
goes through the file pipeline, diarized: the platform does not say who spoke when. A meeting that does not
store video keeps only the file's sound (its audio stream, not re-encoded) and the composite is deleted from
the platform's bucket once that sound is in ours.
"""

import asyncio
import posixpath
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import structlog

from reflector.adapters.storage import Storage
from reflector.domain.errors import DomainError
from reflector.domain.ids import now
from reflector.domain.rooms import livekit_recordings
from reflector.domain.rooms import repository as repo
from reflector.domain.rooms.models import MeetingView, RecordingView, RoomView, VideoPlatform
from reflector.domain.transcripts.models import (
    AudioDeleted,
    NewTranscript,
    NoUpload,
    TranscriptNotFound,
    TranscriptView,
)
from reflector.domain.transcripts.service import TranscriptService
from reflector.pipelines import audio

log = structlog.get_logger(__name__)

# Taking a recording up is a few requests and writes: one still `processing` after this long was left by a
# process that died, and is taken up again.
CLAIM_STALE_S = 10 * 60


class TrackRuns(Protocol):
    """Processing, as a recording needs it: a run of a per-participant recording's tracks."""

    async def request_multitrack(
        self,
        transcript_id: str,
        keys: list[str],
        names: dict[str, str],
        video_folder: str | None = None,
        starts_ms: dict[str, int] | None = None,
    ) -> Any: ...

    async def reprocess(self, transcript_id: str) -> Any:
        """A run of the transcript's recording (its upload: one file, diarized)."""


@runtime_checkable
class NamesParticipants(Protocol):
    """A platform that can say who took part in a recording: participant id -> display name."""

    async def recording_participants(self, recording_id: str) -> dict[str, str]: ...


async def _delete_media(bucket: Storage, recording: RecordingView) -> int:
    """Every object of the recording in the platform's bucket: its tracks and whatever else is in their
    folder (screen-share audio, video: Daily writes one folder per room, and a room per meeting here), or its
    one file. How many were deleted."""
    keys = set(recording.track_keys or [])
    folders = {posixpath.dirname(key) for key in keys if posixpath.dirname(key)}
    if recording.track_keys is None and recording.object_key:
        keys.add(recording.object_key)
    for folder in folders:
        keys.update(await bucket.list_keys(folder + "/"))
    deleted = 0
    for key in sorted(keys):
        if await bucket.exists(key):
            await bucket.delete(key)
            deleted += 1
    return deleted


class RecordingNotProcessable(DomainError):
    """A recording this module cannot make a transcript of; the message says why."""


class RecordingService:
    def __init__(
        self,
        transcripts: TranscriptService,
        runs: TrackRuns,
        platforms: Mapping[str, VideoPlatform],
        buckets: Callable[[str], Storage | None] | None = None,
    ) -> None:
        self._transcripts = transcripts
        self._runs = runs
        self._platforms = platforms
        # A bucket by name, not started ("": the platforms' own recordings bucket); None where none is read.
        self._buckets = buckets

    async def process(self, recording_id: str) -> str | None:
        """Make the recording's transcript and queue its run; the transcript's id, or None when the
        recording is being (or was) processed by someone else."""
        recording = await repo.claim_recording(recording_id, CLAIM_STALE_S)
        if recording is None:
            log.info("recording.skipped", recording_id=recording_id, reason="processed or being processed")
            return None
        try:
            transcript_id = await self._process(recording)
        except RecordingNotProcessable as exc:
            await repo.update_recording(recording_id, {"status": "ignored"})
            log.warning("recording.ignored", recording_id=recording_id, reason=str(exc))
            raise
        except Exception as exc:
            await repo.update_recording(recording_id, {"status": "failed"})
            log.warning("recording.failed", recording_id=recording_id, error=str(exc))
            raise
        await repo.update_recording(recording_id, {"status": "completed"})
        return transcript_id

    async def process_waiting(self) -> list[str]:
        """Every pending recording, then every failed one, then every one left processing by a process that
        died, processed (what a periodic sweep calls); the transcripts made. A recording that fails again
        stays failed for the next sweep."""
        made = []
        try:  # LiveKit recordings whose lost egress would otherwise hold them forever
            await livekit_recordings.settle_overdue()
        except Exception as exc:  # PostgreSQL away: settled next time
            log.warning("recording.settle_failed", error=str(exc))
        waiting = [
            *await repo.recordings_with_status("pending"),
            *await repo.recordings_with_status("failed"),
            *await repo.stale_processing_recordings(CLAIM_STALE_S),
        ]
        for recording_id in waiting:
            try:
                transcript_id = await self.process(recording_id)
            except Exception:  # logged by process(); the others still go
                continue
            if transcript_id is not None:
                made.append(transcript_id)
        return made

    async def get(self, recording_id: str) -> RecordingView | None:
        return await repo.get_recording(recording_id)

    async def forget_declined(self, bucket: Storage) -> list[str]:
        """Every audio and video file of each meeting in which a participant declined to be recorded, deleted
        once its recording is processed (Reflector's rule: any declined answer, after processing): in the
        platform's `bucket` (or the one the recording names) every object of the recording (each participant's
        tracks, screen-share audio, video, or the one file), and in our store the mp3, waveform and upload
        (`delete_audio`, which marks the transcript so its page says why); its text, topics and summaries
        stay. A recording still being
        processed waits for the next sweep; one that failed keeps its media for a retry. The ids of the
        recordings whose media were deleted."""
        forgotten = []
        for recording in await repo.recordings_to_forget():
            if not await self._processed(recording):
                continue
            try:
                named = self._buckets(recording.bucket_name) if recording.bucket_name and self._buckets else None
                if named is not None:  # a file in the bucket the recording names (Whereby's)
                    async with named:
                        objects = await _delete_media(named, recording)
                else:
                    objects = await _delete_media(bucket, recording)
                if await self._transcript(recording.transcript_id) is not None:
                    assert recording.transcript_id is not None
                    await self._transcripts.delete_audio(recording.transcript_id)
            except Exception as exc:  # a bucket away: deleted by the next sweep, nothing marked before then
                log.warning("recording.media_delete_failed", recording_id=recording.id, error=str(exc))
                continue
            await repo.update_recording(recording.id, {"media_deleted_at": now()})
            log.info("recording.media_deleted", recording_id=recording.id, objects=objects, reason="consent declined")
            forgotten.append(recording.id)
        return forgotten

    async def forget_transcript_media(self, transcript_id: str, bucket: Storage, *, forget: bool) -> int:
        """Every object of the recordings the transcript was made of (tracks, screen-share, video) deleted
        from the platform's `bucket`, or from the bucket the recording names (Whereby's file): its retention
        policy's audio limit, or its purge from the trash (`forget`: the recordings are then marked deleted
        too, never processed again). How many objects."""
        deleted = 0
        for recording in await repo.recordings_of_transcript(transcript_id):
            named = self._buckets(recording.bucket_name) if recording.bucket_name and self._buckets else None
            if named is not None:
                async with named:
                    objects = await _delete_media(named, recording)
            else:
                objects = await _delete_media(bucket, recording)  # what is gone already is skipped
            values: dict[str, Any] = {"media_deleted_at": now()}
            if forget:
                values["deleted_at"] = now()
            await repo.update_recording(recording.id, values)
            log.info("recording.media_deleted", recording_id=recording.id, objects=objects, reason="retention")
            deleted += objects
        return deleted

    async def _processed(self, recording: RecordingView) -> bool:
        if recording.status == "ignored":
            return True  # never processed here: nothing to wait for
        if recording.transcript_id is None:
            return False
        transcript = await self._transcript(recording.transcript_id)
        return transcript is None or transcript.status == "ended"  # None: its transcript was deleted

    async def _transcript(self, transcript_id: str | None) -> TranscriptView | None:
        try:
            return await self._transcripts.get(transcript_id) if transcript_id else None
        except TranscriptNotFound:
            return None

    async def _process(self, recording: RecordingView) -> str:
        one_file = recording.track_keys is None and bool(recording.object_key)
        if not recording.track_keys and not one_file:
            raise RecordingNotProcessable("This recording has neither a file nor one track per participant.")
        meeting = await repo.get_meeting(recording.meeting_id) if recording.meeting_id else None
        room = await repo.get_room(meeting.room_id) if meeting else None
        if meeting is None or room is None:
            raise RecordingNotProcessable("This recording belongs to no meeting of a room here.")
        if one_file:
            return await self._process_file(recording, room, meeting)
        assert recording.track_keys is not None
        names = await self._names(meeting, recording)
        transcript_id = recording.transcript_id
        if transcript_id is None:
            transcript_id = await self._new_transcript(room, meeting, recording)
        # A meeting that does not store video: its video tracks are deleted from the bucket by the run.
        video_folder = None if meeting.store_video else posixpath.dirname(recording.track_keys[0])
        # LiveKit's tracks are placed on the timeline by when each egress started (Daily's by their names).
        gathered = livekit_recordings.state_of(recording.platform_state)
        starts = gathered.written() if meeting.platform == "livekit" else {}
        await self._runs.request_multitrack(transcript_id, recording.track_keys, names, video_folder, starts)
        log.info("recording.processing", recording_id=recording.id, transcript_id=transcript_id, named=len(names))
        return transcript_id

    async def _process_file(self, recording: RecordingView, room: RoomView, meeting: MeetingView) -> str:
        """A composite recording (Whereby's MP4): copied from its bucket into the transcript's upload, then
        run through the file pipeline, diarized. Taken up again, its upload is copied once."""
        bucket = self._buckets(recording.bucket_name) if self._buckets else None
        if bucket is None:
            raise RecordingNotProcessable(
                "This recording is one file in a bucket no setting names here; only recordings with one track "
                "per participant are processed without it."
            )
        transcript_id = recording.transcript_id or await self._new_transcript(room, meeting, recording)
        if not await self._has_upload(transcript_id):
            suffix = posixpath.splitext(recording.object_key)[1].lower() or ".mp4"
            with tempfile.TemporaryDirectory(prefix="reflector-recording-") as folder:
                path = Path(folder) / f"recording{suffix}"
                async with bucket:
                    await bucket.download(recording.object_key, path)
                    if not meeting.store_video:
                        # Its sound kept, its picture not: the composite leaves the platform's bucket once
                        # the sound is in ours.
                        path = await asyncio.to_thread(audio.audio_only, path, Path(folder) / "recording.mka")
                    await self._transcripts.store_upload(transcript_id, path)
                    if not meeting.store_video:
                        await bucket.delete(recording.object_key)
                        log.info("recording.video_deleted", recording_id=recording.id, key=recording.object_key)
        await self._runs.reprocess(transcript_id)
        log.info("recording.processing", recording_id=recording.id, transcript_id=transcript_id, kind="file")
        return transcript_id

    async def _has_upload(self, transcript_id: str) -> bool:
        try:
            await self._transcripts.upload_of(transcript_id)
        except (NoUpload, AudioDeleted):
            return False
        return True

    async def _names(self, meeting: MeetingView, recording: RecordingView) -> dict[str, str]:
        if meeting.platform == "livekit":  # the names they joined with, gathered from LiveKit's webhooks
            return livekit_recordings.state_of(recording.platform_state).names
        platform = self._platforms.get(meeting.platform)
        if not isinstance(platform, NamesParticipants) or recording.platform_recording_id is None:
            log.info("recording.unnamed", recording_id=recording.id, platform=meeting.platform)
            return {}
        return await platform.recording_participants(recording.platform_recording_id)

    async def _new_transcript(self, room: RoomView, meeting: MeetingView, recording: RecordingView) -> str:
        name = f"{room.name} {recording.recorded_at:%Y-%m-%d %H:%M} UTC"
        new = NewTranscript(name=name, source_kind="room", user_id=room.user_id, room_id=room.id, meeting_id=meeting.id)
        transcript = await self._transcripts.create(new)
        await repo.update_recording(recording.id, {"transcript_id": transcript.id})
        return transcript.id
