"""Reflector's request and response shapes, field for field (plus our additions, noted)."""

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from reflector.domain.events import Decision, NextStep, TopicData
from reflector.domain.transcripts.editing import NAME_MAX
from reflector.domain.transcripts.models import (
    ListedTranscript,
    ParticipantView,
    ShareMode,
    SourceKind,
    Status,
    TranscriptView,
)
from reflector.word_text import on_the_wire

TranscriptFormat = Literal["text", "text-timestamped", "webvtt-named", "json"]

# What the columns can hold, so that more is a 422 rather than a failed write: names are VARCHAR(255),
# language codes VARCHAR(16), and a participant's speaker (numbered from 0) a 32-bit integer.
SPEAKER_MAX = 2**31 - 1
Name = Annotated[str, msgspec.Meta(max_length=NAME_MAX)]
LanguageCode = Annotated[str, msgspec.Meta(max_length=16)]
SpeakerNumber = Annotated[int, msgspec.Meta(ge=0, le=SPEAKER_MAX)]


class Participant(msgspec.Struct):
    id: str
    speaker: int | None
    name: str


class TranscriptParticipant(msgspec.Struct):
    id: str
    speaker: int | None
    name: str
    user_id: str | None = None
    email: str | None = None


class GetTranscriptMinimal(msgspec.Struct):
    id: str
    user_id: str | None
    name: str
    status: Status
    locked: bool
    duration: float
    title: str | None
    short_summary: str | None
    long_summary: str | None
    created_at: datetime
    share_mode: ShareMode
    source_language: str | None
    target_language: str | None
    reviewed: bool
    meeting_id: str | None
    source_kind: SourceKind
    room_id: str | None
    room_name: str | None
    audio_deleted: bool | None
    change_seq: int | None


class GetTranscriptWithParticipants(GetTranscriptMinimal):
    participants: list[TranscriptParticipant]


class TranscriptSegment(msgspec.Struct):
    speaker: int
    speaker_name: str
    text: str
    start: float
    end: float


class GetTranscript(GetTranscriptWithParticipants):
    transcript_format: TranscriptFormat
    transcript: str | list[TranscriptSegment]
    # Beyond Reflector, which computes these but never returns them.
    action_items: list[NextStep]
    decisions: list[Decision]
    error: str


# Deeper than any real listing, and far inside PostgreSQL's bigint OFFSET: past these a client gets a 422,
# not an overflow. BIGINT bounds what a change_seq can be compared with.
MAX_PAGE = 100_000
MAX_OFFSET = 10_000_000
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


class Page(msgspec.Struct):
    items: list[GetTranscriptMinimal]
    total: int
    page: int
    size: int
    pages: int


class CreateTranscript(msgspec.Struct):
    name: Name
    source_language: LanguageCode = "en"
    target_language: LanguageCode = "en"
    source_kind: SourceKind | None = None


class UpdateTranscript(msgspec.Struct, omit_defaults=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    locked: bool | msgspec.UnsetType = msgspec.UNSET
    title: str | msgspec.UnsetType = msgspec.UNSET
    short_summary: str | msgspec.UnsetType = msgspec.UNSET
    long_summary: str | msgspec.UnsetType = msgspec.UNSET
    share_mode: ShareMode | msgspec.UnsetType = msgspec.UNSET
    participants: list["CreateParticipant"] | msgspec.UnsetType = msgspec.UNSET
    reviewed: bool | msgspec.UnsetType = msgspec.UNSET
    audio_deleted: bool | msgspec.UnsetType = msgspec.UNSET


class CreateParticipant(msgspec.Struct):
    name: Name
    speaker: SpeakerNumber | None = None


class UpdateParticipant(msgspec.Struct):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    speaker: SpeakerNumber | msgspec.UnsetType | None = msgspec.UNSET


class SpeakerAssignment(msgspec.Struct):
    timestamp_from: float
    timestamp_to: float
    speaker: SpeakerNumber | None = None
    participant: str | None = None


class SpeakerMerge(msgspec.Struct):
    speaker_from: SpeakerNumber
    speaker_to: SpeakerNumber


class DeletionStatus(msgspec.Struct):
    status: str


class SpeakerWords(msgspec.Struct):
    speaker: int
    words: list["Word"]


class Word(msgspec.Struct):
    text: str
    start: float
    end: float
    speaker: int = 0


def words_of(stored: list[dict[str, Any]]) -> list[Word]:
    """A topic's stored words as Reflector sends them: each with the space that goes before it."""
    return [msgspec.structs.replace(word, text=on_the_wire(word.text)) for word in msgspec.convert(stored, list[Word])]


class GetTranscriptTopic(TopicData):
    """A topic as the REST API sends it: the TOPIC event's payload."""


class GetTranscriptTopicWithWords(GetTranscriptTopic):
    words: list[Word]


class GetTranscriptTopicWithWordsPerSpeaker(GetTranscriptTopic):
    words_per_speaker: list[SpeakerWords]


def minimal(view: TranscriptView | ListedTranscript, cls: type = GetTranscriptMinimal, **extra: Any) -> Any:
    return cls(
        id=view.id,
        user_id=view.user_id,
        name=view.name,
        status=view.status,
        locked=view.locked,
        duration=view.duration,
        title=view.title,
        short_summary=view.short_summary,
        long_summary=view.long_summary,
        created_at=view.created_at,
        share_mode=view.share_mode,
        source_language=view.source_language,
        target_language=view.target_language,
        reviewed=view.reviewed,
        meeting_id=view.meeting_id,
        source_kind=view.source_kind,
        room_id=view.room_id,
        room_name=None,
        audio_deleted=view.audio_deleted,
        change_seq=view.change_seq,
        **extra,
    )


def participants_of(views: list[ParticipantView]) -> list[TranscriptParticipant]:
    return [TranscriptParticipant(id=p.id, speaker=p.speaker, name=p.name, user_id=p.user_id) for p in views]


class SearchResult(msgspec.Struct):
    id: str
    title: str | None
    user_id: str | None
    room_id: str | None
    room_name: str | None
    source_kind: SourceKind
    created_at: datetime
    status: Status
    rank: float
    duration: float | None  # milliseconds, like every transcript duration (Reflector's docs say seconds)
    search_snippets: list[str]
    total_match_count: int
    change_seq: int | None


class SearchResponse(msgspec.Struct):
    results: list[SearchResult]
    total: int
    query: str | None
    limit: int
    offset: int


class AudioWaveform(msgspec.Struct):
    data: list[float]


class UploadStatus(msgspec.Struct):
    status: str


class ProcessStatus(msgspec.Struct):
    status: Literal["ok", "already running"]
