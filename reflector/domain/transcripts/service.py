"""Use cases of the transcripts module: the single way a transcript is created, fed and changed."""

import asyncio
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import structlog

from reflector.adapters.events import AccessChange, EventBus, TranscriptEventMessage, transcript_channel, user_channel
from reflector.adapters.storage import Storage, StorageNotFound
from reflector.domain.events import (
    CaptionEvent,
    StatusData,
    StatusEvent,
    TranscriptCreatedEvent,
    TranscriptDeletedEvent,
    TranscriptEvent,
    TranscriptIdData,
    TranslationEvent,
    UserEvent,
    WaveformEvent,
    name_of,
)
from reflector.domain.ids import looks_like_id, now
from reflector.domain.transcripts import repository
from reflector.domain.transcripts.models import (
    AudioDeleted,
    AudioNotFound,
    ListedTranscript,
    NewTranscript,
    NoUpload,
    ParticipantView,
    RecordingUnderway,
    Status,
    TopicView,
    TranscriptChanges,
    TranscriptLocked,
    TranscriptNotFound,
    TranscriptView,
)
from reflector.encoding import to_builtins
from reflector.pipelines import audio
from reflector.pipelines.types import Topic, Word

if TYPE_CHECKING:
    from reflector.pipelines.types import MeetingResult

log = structlog.get_logger(__name__)

# Columns that decide who may see a transcript: changing one makes its open sockets check their callers again.
_GRANTING = frozenset({"share_mode", "user_id"})


def upload_key(transcript_id: str, suffix: str) -> str:
    return f"transcripts/{transcript_id}/upload{suffix}"


def audio_key(transcript_id: str) -> str:
    return f"transcripts/{transcript_id}/audio.mp3"


def waveform_key(transcript_id: str) -> str:
    return f"transcripts/{transcript_id}/waveform.json"


def steps_prefix(transcript_id: str) -> str:
    return f"transcripts/{transcript_id}/steps/"


class StorageCheckpoints:
    """A run's checkpoints (the pipeline's `Checkpoints`), kept among the transcript's files."""

    def __init__(self, storage: Storage, transcript_id: str) -> None:
        self._storage = storage
        self._prefix = steps_prefix(transcript_id)

    async def load(self, step: str) -> bytes | None:
        key = f"{self._prefix}{step}.json"
        if not await self._storage.exists(key):
            return None
        return await self._storage.get_bytes(key)

    async def save(self, step: str, data: bytes) -> None:
        await self._storage.put_bytes(f"{self._prefix}{step}.json", data)


class TranscriptService:
    def __init__(self, storage: Storage, bus: EventBus) -> None:
        self.storage = storage
        self._bus = bus

    async def create(self, new: NewTranscript) -> TranscriptView:
        name = new.name or "Untitled meeting"
        transcript = await repository.insert(
            {
                "name": name,
                "source_kind": new.source_kind,
                "source_language": new.source_language,
                "target_language": new.target_language,
                "user_id": new.user_id,
                "room_id": new.room_id,
                "meeting_id": new.meeting_id,
            }
        )
        if transcript.user_id:
            await self._tell_owner(transcript.user_id, TranscriptCreatedEvent(TranscriptIdData(id=transcript.id)))
        log.info("transcript.created", transcript_id=transcript.id)
        return transcript

    async def get(self, transcript_id: str) -> TranscriptView:
        # Every route of a transcript comes through here first (its access check), so this one check
        # keeps a malformed id from every query after it.
        transcript = await repository.get(transcript_id) if looks_like_id(transcript_id) else None
        if transcript is None:
            raise TranscriptNotFound(transcript_id)
        return transcript

    async def list_recent(self, limit: int = 50) -> list[TranscriptView]:
        return await repository.list_recent(limit)

    async def page(self, *, page: int, size: int, **filters: Any) -> tuple[list[ListedTranscript], int]:
        """One page of transcripts, newest first (or by change_seq), and how many match in all."""
        return await repository.page(offset=(page - 1) * size, limit=size, **filters)

    async def topics(self, transcript_id: str) -> list[TopicView]:
        return await repository.topics_of(transcript_id)

    async def participants(self, transcript_id: str) -> list[ParticipantView]:
        return await repository.participants_of(transcript_id)

    async def speakers_and_topics(self, transcript_id: str) -> tuple[list[ParticipantView], list[Topic]]:
        """Its participants and its topics with their words, read together: what showing it needs beside
        the transcript itself."""
        return await repository.speakers_and_topics(transcript_id)

    async def name_speakers(self, transcript_id: str, names: dict[int, str]) -> None:
        """The transcript's participants become these, speaker number -> name (a recording whose platform
        knows who spoke)."""
        await repository.replace_participants(transcript_id, [{"speaker": s, "name": n} for s, n in names.items()])

    async def name_from_meeting(self, transcript_id: str, words: list[Word]) -> dict[int, str]:
        """Speakers the meeting itself names (pipelines/speaker_naming.py) become participants that keep
        the lines showing why; speaker number -> name of every named speaker, after.

        Names a person gave win: a speaker they named keeps it, a name they gave before processing (no
        speaker yet) is the one given to the voice it fits. Names the meeting gave on an earlier run are
        worked out again, as the voices may be numbered otherwise now.
        """
        from reflector.pipelines.names import name_key
        from reflector.pipelines.speaker_naming import infer_speaker_names

        everyone = await self.participants(transcript_id)
        people = [p for p in everyone if p.evidence is None]
        # evidence [] marks a name a person took back from a voice ("Not Kenji"): never given again.
        refused = {name_key(p.name) for p in everyone if p.evidence == []}
        for earlier in everyone:
            if earlier.evidence:
                await repository.delete_participant(earlier.id)
        known = {p.speaker: p.name for p in people if p.speaker is not None}
        waiting = {name_key(p.name): p for p in people if p.speaker is None}
        for naming in infer_speaker_names(words, candidates=[p.name for p in people], known=known):
            if name_key(naming.name) in refused:
                continue
            given = waiting.get(name_key(naming.name))
            if given is not None:
                await repository.update_participant(given.id, {"speaker": naming.speaker, "evidence": naming.evidence})
            else:
                await repository.insert_participant(
                    transcript_id, {"speaker": naming.speaker, "name": naming.name, "evidence": naming.evidence}
                )
            known[naming.speaker] = naming.name
            log.info("speakers.named", transcript_id=transcript_id, speaker=naming.speaker, lines=len(naming.evidence))
        return known

    async def events(self, transcript_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(e.event, e.data) for e in await repository.events_of(transcript_id)]

    async def event_log(self, transcript_id: str) -> list[TranscriptEventMessage]:
        """The stored events in order, each with its log id (what a late subscriber replays)."""
        return await repository.events_of(transcript_id)

    async def store_upload(self, transcript_id: str, path: Path) -> str:
        """Keep the uploaded recording; the transcript becomes `uploaded`."""
        transcript = await self.get(transcript_id)
        if transcript.locked:
            raise TranscriptLocked()
        key = upload_key(transcript_id, path.suffix.lower())
        for old in await self.storage.list_keys(f"transcripts/{transcript_id}/upload"):
            if old != key:
                await self.storage.delete(old)
        await self.storage.put_file(key, path)
        # The declared duration routes a long recording to its own queue before anything is decoded;
        # the decode step replaces it with the measured one.
        seconds = await asyncio.to_thread(audio.probe_duration, path)
        if seconds:
            await repository.update(transcript_id, {"duration": round(seconds * 1000)})
        if transcript.audio_deleted:
            # Its owner sent a recording again after deleting the last: this one is theirs to keep.
            await repository.update(transcript_id, {"audio_deleted": False})
        await self.set_status(transcript_id, "uploaded")
        return key

    async def upload_of(self, transcript_id: str) -> str:
        keys = await self.storage.list_keys(f"transcripts/{transcript_id}/upload")
        if not keys and (await self.get(transcript_id)).audio_deleted:
            raise AudioDeleted()
        if not keys:
            raise NoUpload(f"Transcript {transcript_id} has no recording to process")
        return keys[0]

    async def playable_audio(self, transcript_id: str) -> tuple[str, int]:
        """The storage key and size of the mp3 a player streams."""
        transcript = await self.get(transcript_id)
        if transcript.audio_deleted:
            raise AudioNotFound("Audio unavailable due to privacy settings")
        key = audio_key(transcript_id)
        size = await self.storage.size(key)
        if size is None:
            raise AudioNotFound("Audio file not found")
        return key, size

    async def waveform(self, transcript_id: str) -> list[float]:
        """The peaks the pipeline stored for drawing the recording."""
        await self.get(transcript_id)
        try:
            stored = await self.storage.get_bytes(waveform_key(transcript_id))
        except StorageNotFound as exc:
            raise AudioNotFound("Audio not found") from exc
        try:
            return msgspec.json.decode(stored, type=list[float])
        except msgspec.DecodeError as exc:
            # A damaged file is as good as none: the next run of the pipeline writes it again.
            log.warning("waveform.unreadable", transcript_id=transcript_id, error=str(exc))
            raise AudioNotFound("Audio not found") from exc

    async def set_status(self, transcript_id: str, status: Status, error: str = "") -> None:
        transcript = await self.get(transcript_id)
        if transcript.status == status and transcript.error == error:
            return
        await repository.update(transcript_id, {"status": status, "error": error})
        await self.emit(transcript_id, StatusEvent(StatusData(value=status)), owner=transcript.user_id)

    async def emit(self, transcript_id: str, event: TranscriptEvent, *, owner: str | None = None) -> None:
        """Publish an event on the transcript's channel, recorded in its log first when it is one late
        subscribers are replayed, and tell the owner's channel what Reflector mirrors there."""
        name, data = name_of(event), to_builtins(event.data)
        event_id = await repository.append_event(transcript_id, name, data) if event.stored() else None
        await self._bus.publish(transcript_channel(transcript_id), name, data, event_id)
        mirrored = event.for_owner(transcript_id)
        if mirrored is not None and owner:
            await self._tell_owner(owner, mirrored)

    async def _tell_owner(self, owner: str, event: UserEvent) -> None:
        await self._bus.publish(user_channel(owner), name_of(event), to_builtins(event.data))

    async def update(self, transcript_id: str, changes: TranscriptChanges) -> None:
        """Change what `changes` sets; setting `audio_deleted` deletes the audio (`delete_audio`), never just
        hides it. A change of share_mode or user_id makes the transcript's open sockets check their callers."""
        values = changes.columns()
        if values.get("audio_deleted") is True:
            await self.delete_audio(transcript_id)
            del values["audio_deleted"]
        if not values:
            return
        await repository.update(transcript_id, values)
        if _GRANTING.intersection(values):
            await self._bus.access_changed(AccessChange(transcript_id=transcript_id))

    async def replace_topics(self, transcript_id: str, topics: list[dict[str, Any]]) -> list[TopicView]:
        return await repository.replace_topics(transcript_id, topics)

    async def forget_events(self, transcript_id: str, kind: type[TranscriptEvent]) -> None:
        """Drop the stored events of one kind from the transcript's log (before they are written anew)."""
        await repository.clear_events(transcript_id, name_of(kind))

    async def reset_results(self, transcript_id: str) -> None:
        """Forget a previous run's outputs (not the title a person may have edited). The live captions and
        their translations are no run's output but the recording's own record, which a late page replays:
        they stay (a run queued as the recording stops would otherwise race the last of them)."""
        await repository.replace_topics(transcript_id, [])
        await repository.clear_events(transcript_id, keep=(name_of(CaptionEvent), name_of(TranslationEvent)))
        await self.storage.delete_prefix(steps_prefix(transcript_id))

    async def delete_audio(self, transcript_id: str) -> int:
        """Delete the recording and all made from it (upload, upload parts, mp3, waveform); the text stays.
        Safe to repeat: a deletion cut short by the store finishes on the next call. Returns objects removed."""
        transcript = await self.get(transcript_id)
        if transcript.status == "recording":
            # The live recording becomes the upload when it stops, which would bring the audio back.
            raise RecordingUnderway()
        # The flag first: the player stops at once, and a run still going keeps no mp3 or waveform.
        await repository.update(transcript_id, {"audio_deleted": True})
        # Everything kept under the transcript is audio or made from it, except the steps' text outputs.
        keep = steps_prefix(transcript_id)
        keys = [k for k in await self.storage.list_keys(f"transcripts/{transcript_id}/") if not k.startswith(keep)]
        for key in keys:
            await self.storage.delete(key)
        await repository.clear_events(transcript_id, name_of(WaveformEvent))  # the peaks, replayed to late clients
        log.info("transcript.audio_deleted", transcript_id=transcript_id, objects=len(keys))
        return len(keys)

    async def delete(self, transcript_id: str) -> None:
        """Move the transcript to its owner's trash: from now on it is as good as deleted (no read, list,
        search or socket finds it) until its owner restores it or the retention sweep purges it."""
        transcript = await self.get(transcript_id)
        await repository.update(transcript_id, {"deleted_at": now()})
        await self._bus.access_changed(AccessChange(transcript_id=transcript_id))
        if transcript.user_id:
            await self._tell_owner(transcript.user_id, TranscriptDeletedEvent(TranscriptIdData(id=transcript_id)))
        log.info("transcript.trashed", transcript_id=transcript_id)

    async def in_trash(self, transcript_id: str) -> TranscriptView:
        transcript = await repository.get_trashed(transcript_id) if looks_like_id(transcript_id) else None
        if transcript is None:
            raise TranscriptNotFound(transcript_id)
        return transcript

    async def trash_of(self, owner_id: str) -> list[TranscriptView]:
        return await repository.trashed_of(owner_id)

    async def restore(self, transcript_id: str) -> TranscriptView:
        """Take the transcript out of the trash, as it was (its text, speakers and audio never left)."""
        transcript = await self.in_trash(transcript_id)
        await repository.update(transcript_id, {"deleted_at": None})
        if transcript.user_id:
            await self._tell_owner(transcript.user_id, TranscriptCreatedEvent(TranscriptIdData(id=transcript_id)))
        log.info("transcript.restored", transcript_id=transcript_id)
        return await self.get(transcript_id)

    async def expired_trash(self, cutoff: datetime, limit: int = 100) -> list[str]:
        return await repository.trashed_before(cutoff, limit)

    async def with_audio_before(self, room_id: str, cutoff: datetime, limit: int = 100) -> list[str]:
        return await repository.with_audio_before(room_id, cutoff, limit)

    async def purge(self, transcript_id: str) -> int:
        """Delete a trashed transcript for good: every object stored under it, then its rows (topics,
        participants, events and runs go with it). Returns the objects removed."""
        await self.in_trash(transcript_id)
        prefix = f"transcripts/{transcript_id}/"
        keys = await self.storage.list_keys(prefix)
        await self.storage.delete_prefix(prefix)
        await repository.delete(transcript_id)
        log.info("transcript.purged", transcript_id=transcript_id, objects=len(keys))
        return len(keys)

    async def discard(self, transcript_id: str) -> None:
        """Delete at once, without the trash: a transcript made for a recording that was refused."""
        await self.delete(transcript_id)
        await self.purge(transcript_id)

    async def detach_room(self, room_id: str) -> int:
        """The room is going: its transcripts stay with their owners, in no room; how many."""
        return await repository.detach_room(room_id)

    async def count_of_room(self, room_id: str) -> int:
        return await repository.count_of_room(room_id)


__all__ = ["StorageNotFound", "TranscriptService"]


async def meeting_result(
    service: TranscriptService,
    transcript_id: str,
    *,
    transcript: TranscriptView | None = None,
    speakers_and_topics: tuple[list[ParticipantView], list[Topic]] | None = None,
) -> "MeetingResult":
    """A stored transcript in the shape `reflector process` prints, built as a run builds it (`build_result`):
    from what the transcript holds (a person's corrections with it), and from the run's checkpoints for the
    words where no topic holds them. Pass what the caller already read."""
    from reflector.pipelines.meeting import StepOutputs, build_result, restore
    from reflector.pipelines.types import ActionItem, Summary

    if transcript is None:
        transcript = await service.get(transcript_id)
    if speakers_and_topics is None:
        speakers_and_topics = await service.speakers_and_topics(transcript_id)
    participants, topics = speakers_and_topics
    words = [word for topic in topics for word in topic.words]
    if not words:
        words = (await restore(StorageCheckpoints(service.storage, transcript_id), ["assemble"])).words or []
    items = transcript.action_items or {}
    summary = Summary(
        title=transcript.title,
        short_summary=transcript.short_summary,
        long_summary=transcript.long_summary,
        decisions=[d["decision"] for d in items.get("decisions", [])],
        action_items=[
            ActionItem(task=s["task"], owner=s.get("assigned_to"), due=s.get("deadline"))
            for s in items.get("next_steps", [])
        ],
    )
    outputs = StepOutputs(duration=transcript.duration / 1000, words=words, topics=topics, summary=summary)
    names = {p.speaker: p.name for p in participants if p.speaker is not None}
    return build_result(outputs, transcript.source_language, names)
