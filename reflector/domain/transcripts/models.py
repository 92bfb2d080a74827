"""What the transcripts module hands out: plain Structs, never table rows."""

from datetime import datetime
from typing import Any, Literal

import msgspec

Status = Literal["idle", "uploaded", "recording", "processing", "ended", "error"]
ShareMode = Literal["private", "semi-private", "public"]
SourceKind = Literal["file", "live", "room"]


class TopicView(msgspec.Struct, frozen=True):
    id: str
    position: int
    title: str
    summary: str
    timestamp: float  # seconds
    duration: float  # seconds
    words: list[dict[str, Any]]


class ParticipantView(msgspec.Struct, frozen=True):
    id: str
    speaker: int | None
    name: str
    user_id: str | None = None


class TranscriptView(msgspec.Struct, frozen=True):
    id: str
    user_id: str | None
    name: str
    title: str
    status: Status
    error: str
    locked: bool
    reviewed: bool
    share_mode: ShareMode
    source_kind: SourceKind
    source_language: str
    target_language: str
    duration: float  # milliseconds, as Reflector
    short_summary: str
    long_summary: str
    action_items: dict[str, Any]
    room_id: str | None
    meeting_id: str | None
    audio_location: str
    audio_deleted: bool
    change_seq: int
    created_at: datetime
    updated_at: datetime


class NewTranscript(msgspec.Struct, frozen=True):
    name: str = ""
    source_kind: SourceKind = "file"
    source_language: str = "en"
    target_language: str = "en"
    user_id: str | None = None


class TranscriptNotFound(Exception):
    def __init__(self, transcript_id: str) -> None:
        super().__init__(f"Transcript {transcript_id} not found")
        self.transcript_id = transcript_id


class TranscriptLocked(Exception):
    pass


class NoUpload(Exception):
    pass


class TopicNotFound(Exception):
    def __init__(self) -> None:
        super().__init__("Topic not found")


class ParticipantNotFound(Exception):
    def __init__(self) -> None:
        super().__init__("Participant not found")


class SpeakerConflict(Exception):
    """Two participants for one speaker, or a merge of two named speakers."""
