"""What the transcripts module hands out: plain Structs, never table rows."""

from datetime import datetime
from typing import Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, UnsetType

from reflector.domain.errors import Conflict, DomainError, NotFound
from reflector.domain.ids import looks_like_id

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
    # Lines of the meeting that named this speaker; None when a person named them.
    evidence: list[str] | None = None


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
    deleted_at: datetime | None = None  # in the trash since then


class ListedTranscript(msgspec.Struct, frozen=True):
    """A transcript as a list shows it: no speech, action items or error, which a list never returns."""

    id: str
    user_id: str | None
    name: str
    title: str
    status: Status
    locked: bool
    reviewed: bool
    share_mode: ShareMode
    source_kind: SourceKind
    source_language: str
    target_language: str
    duration: float  # milliseconds, as Reflector
    short_summary: str
    long_summary: str
    room_id: str | None
    meeting_id: str | None
    audio_deleted: bool
    change_seq: int
    created_at: datetime


class NewTranscript(msgspec.Struct, frozen=True):
    name: str = ""
    source_kind: SourceKind = "file"
    source_language: str = "en"
    target_language: str = "en"
    user_id: str | None = None
    room_id: str | None = None  # a room's recording: the room and meeting it was made in
    meeting_id: str | None = None


TITLE_MAX = 300  # what the transcript page's title field takes


class InvalidTitle(DomainError):
    """A blank title, or one too long to show; the message says which and what to do."""


class TranscriptChanges(msgspec.Struct, frozen=True, kw_only=True):
    """The columns one change sets; a field left UNSET is left as it is.

    A title is kept on one line without stray spaces, never blank and at most TITLE_MAX characters: whoever
    changes it (a page, the API, a pipeline) gets the same rule. Setting `audio_deleted` deletes the audio,
    never just hides it.
    """

    title: str | UnsetType = UNSET
    name: str | UnsetType = UNSET
    locked: bool | UnsetType = UNSET
    reviewed: bool | UnsetType = UNSET
    share_mode: ShareMode | UnsetType = UNSET
    user_id: str | UnsetType | None = UNSET
    source_kind: SourceKind | UnsetType = UNSET
    source_language: str | UnsetType = UNSET
    target_language: str | UnsetType = UNSET
    duration: float | UnsetType = UNSET  # milliseconds
    text: str | UnsetType = UNSET
    short_summary: str | UnsetType = UNSET
    long_summary: str | UnsetType = UNSET
    action_items: dict[str, Any] | UnsetType = UNSET
    audio_deleted: bool | UnsetType = UNSET

    def __post_init__(self) -> None:
        if self.title is not UNSET:
            title = " ".join(self.title.split())
            if not title:
                raise InvalidTitle("Give the meeting a title.")
            if len(title) > TITLE_MAX:
                raise InvalidTitle(f"A title can be at most {TITLE_MAX} characters; this one has {len(title)}.")
            msgspec.structs.force_setattr(self, "title", title)

    def columns(self) -> dict[str, Any]:
        """The fields that are set, by column name."""
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not UNSET}


class TranscriptNotFound(NotFound):
    def __init__(self, transcript_id: str) -> None:
        # An id that is not one (a 10 kB probe) is not echoed back whole.
        shown = transcript_id if looks_like_id(transcript_id) else "with that id"
        super().__init__(f"Transcript {shown} not found")
        self.transcript_id = transcript_id


class TranscriptLocked(DomainError):
    """New audio refused: its owner locked the transcript (Reflector's sentence, which its clients show)."""

    def __init__(self, message: str = "Transcript is locked") -> None:
        super().__init__(message)


class NoUpload(DomainError):
    pass


class AudioDeleted(NoUpload):
    """Its owner deleted the recording: there is nothing left to process until a new one is uploaded."""

    def __init__(self) -> None:
        super().__init__(
            "The recording of this transcript was deleted, so it can't be processed again: "
            "upload the recording anew to process it"
        )


class RecordingUnderway(Conflict):
    """The audio is still arriving from a live recording, so it can't be deleted yet."""

    def __init__(self) -> None:
        super().__init__("The meeting is still being recorded: stop the recording, then delete its audio")


class TopicNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Topic not found")


class ParticipantNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Participant not found")


class SpeakerConflict(DomainError):
    """Two participants for one speaker, or a merge of two named speakers."""


class AudioNotFound(NotFound):
    """No audio to play or draw: never made, or purged for privacy (the message says which)."""


class UploadInProgress(DomainError):
    def __init__(self) -> None:
        super().__init__("There is already an upload in progress")


class InvalidChunk(DomainError):
    """A chunk number outside 0..total_chunks-1."""


class MissingChunks(DomainError):
    def __init__(self, missing: list[int], total: int) -> None:
        numbers = ", ".join(str(n) for n in missing)
        super().__init__(f"Missing chunks {numbers} of {total} (numbered from 0): send them to complete the upload")
        self.missing = missing


class NoAudioStream(DomainError):
    def __init__(self) -> None:
        super().__init__("File has no audio stream")


class UploadTooLarge(DomainError):
    status: ClassVar[int] = 413

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(
            f"The upload is larger than the limit of {limit_bytes / 1024**2:,.0f} MiB ({limit_bytes} bytes, "
            "MAX_UPLOAD_BYTES); split the recording or ask the administrator to raise the limit"
        )


class RecordingTooLong(DomainError):
    status: ClassVar[int] = 413

    def __init__(self, seconds: float, limit_seconds: float) -> None:
        super().__init__(
            f"The recording lasts {_hours(seconds)}, longer than the limit of {_hours(limit_seconds)} "
            f"(MAX_AUDIO_SECONDS={limit_seconds:g}); split it or ask the administrator to raise the limit"
        )


def _hours(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
