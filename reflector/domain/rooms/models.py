"""What the rooms module hands out and takes in: rooms, meetings and consents as plain Structs, the
settings a room may have (each a closed set, so a bad value is refused at the edge), its failures, and the
port through which a meeting is opened on a video platform."""

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Protocol

import msgspec

from reflector.domain.errors import Conflict, DomainError, NotFound

Platform = Literal["daily", "whereby", "livekit"]
RoomMode = Literal["normal", "group"]
RecordingType = Literal["none", "local", "cloud"]
RecordingTrigger = Literal["none", "prompt", "automatic", "automatic-2nd-participant"]
# The events a room's webhook may be limited to (a test is always sent: its owner asks for it).
WebhookEvent = Literal["transcript.completed", "transcript.failed", "meeting.started", "meeting.ended"]

# What the columns hold, so that more is refused before a write fails.
RoomName = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
ShortText = Annotated[str, msgspec.Meta(max_length=255)]
Url = Annotated[str, msgspec.Meta(max_length=2048)]
Email = Annotated[str, msgspec.Meta(max_length=320)]
FetchInterval = Annotated[int, msgspec.Meta(ge=60, le=7 * 24 * 3600)]
RetentionDays = Annotated[int, msgspec.Meta(ge=1, le=36500)]


class RoomView(msgspec.Struct, frozen=True):
    id: str
    name: str
    user_id: str
    created_at: datetime
    zulip_auto_post: bool
    zulip_stream: str
    zulip_topic: str
    is_locked: bool
    room_mode: RoomMode
    recording_type: RecordingType
    recording_trigger: RecordingTrigger
    is_shared: bool
    webhook_url: str | None
    webhook_secret: str | None
    ics_url: str | None
    ics_fetch_interval: int
    ics_enabled: bool
    ics_last_sync: datetime | None
    ics_last_etag: str | None
    platform: Platform
    skip_consent: bool
    store_video: bool
    email_transcript_to: str | None
    webhook_disabled_at: datetime | None = None
    webhook_disabled_reason: str = ""
    webhook_events: list[WebhookEvent] | None = None  # None: every event
    webhook_previous_secret: str | None = None  # a rotated-out secret, signing too until the time below
    webhook_previous_until: datetime | None = None
    audio_retention_days: int | None = None  # its transcripts' audio deleted after this many days (None: kept)


class RoomSettings(msgspec.Struct, kw_only=True):
    """Everything about a room its owner sets, with Reflector's defaults: what creating a room takes."""

    name: RoomName
    platform: Platform
    zulip_auto_post: bool = False
    zulip_stream: ShortText = ""
    zulip_topic: ShortText = ""
    is_locked: bool = False
    room_mode: RoomMode = "normal"
    recording_type: RecordingType = "cloud"
    recording_trigger: RecordingTrigger = "automatic-2nd-participant"
    is_shared: bool = False
    webhook_url: Url | None = None
    webhook_secret: ShortText | None = None
    # Only these events go to the webhook (None: all of them).
    webhook_events: list[WebhookEvent] | None = None
    ics_url: Url | None = None
    ics_fetch_interval: FetchInterval = 300
    ics_enabled: bool = False
    skip_consent: bool = False
    store_video: bool = False
    email_transcript_to: Email | None = None
    # Keep audio N days, keep text: the retention sweep deletes older transcripts' audio (None: kept).
    audio_retention_days: RetentionDays | None = None


class RoomChanges(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A partial change of a room's settings: a field left UNSET is kept."""

    name: RoomName | msgspec.UnsetType = msgspec.UNSET
    platform: Platform | msgspec.UnsetType = msgspec.UNSET
    zulip_auto_post: bool | msgspec.UnsetType = msgspec.UNSET
    zulip_stream: ShortText | msgspec.UnsetType = msgspec.UNSET
    zulip_topic: ShortText | msgspec.UnsetType = msgspec.UNSET
    is_locked: bool | msgspec.UnsetType = msgspec.UNSET
    room_mode: RoomMode | msgspec.UnsetType = msgspec.UNSET
    recording_type: RecordingType | msgspec.UnsetType = msgspec.UNSET
    recording_trigger: RecordingTrigger | msgspec.UnsetType = msgspec.UNSET
    is_shared: bool | msgspec.UnsetType = msgspec.UNSET
    webhook_url: Url | msgspec.UnsetType | None = msgspec.UNSET
    webhook_secret: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    webhook_events: list[WebhookEvent] | msgspec.UnsetType | None = msgspec.UNSET
    ics_url: Url | msgspec.UnsetType | None = msgspec.UNSET
    ics_fetch_interval: FetchInterval | msgspec.UnsetType = msgspec.UNSET
    ics_enabled: bool | msgspec.UnsetType = msgspec.UNSET
    skip_consent: bool | msgspec.UnsetType = msgspec.UNSET
    store_video: bool | msgspec.UnsetType = msgspec.UNSET
    email_transcript_to: Email | msgspec.UnsetType | None = msgspec.UNSET
    audio_retention_days: RetentionDays | msgspec.UnsetType | None = msgspec.UNSET

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not msgspec.UNSET}


class MeetingView(msgspec.Struct, frozen=True):
    id: str
    room_id: str
    platform: Platform
    platform_id: str
    room_name: str
    room_url: str
    host_room_url: str
    start_date: datetime
    end_date: datetime
    is_locked: bool
    room_mode: RoomMode
    recording_type: RecordingType
    recording_trigger: RecordingTrigger
    store_video: bool
    num_clients: int
    is_active: bool
    calendar_event_id: str | None
    calendar_metadata: dict[str, Any] | None
    daily_composed_video_s3_key: str | None
    daily_composed_video_duration: int | None
    empty_since: datetime | None = None


class ConsentView(msgspec.Struct, frozen=True):
    id: str
    meeting_id: str
    user_id: str | None
    consent_given: bool
    consent_timestamp: datetime


# `recording`: still being made (LiveKit egresses under way); `pending` once complete.
RecordingStatus = Literal["recording", "pending", "processing", "completed", "failed", "ignored"]


class RecordingView(msgspec.Struct, frozen=True):
    """A recording a video platform made of a meeting: one file (`object_key`) or one track per participant
    (`track_keys`), and the transcript made of it once processing began."""

    id: str
    meeting_id: str | None
    platform_recording_id: str | None
    object_key: str
    track_keys: list[str] | None
    recorded_at: datetime
    status: RecordingStatus
    transcript_id: str | None
    bucket_name: str = ""  # the bucket its objects are in; "": the platform's own (Daily's recordings bucket)
    # What the platform told of it while it was made (LiveKit: livekit_recordings.LiveKitGathering).
    platform_state: dict[str, Any] | None = None


class PlatformMeeting(msgspec.Struct, frozen=True):
    """A meeting as a video platform opened it: its room there and the links to join it."""

    room_name: str
    room_url: str
    host_room_url: str
    platform_id: str


class VideoPlatform(Protocol):
    """A video platform's client, as the meetings of a room need it."""

    async def create_meeting(self, room: RoomView, end: datetime) -> PlatformMeeting: ...


class MeetingListener(Protocol):
    """Told when a meeting starts (is opened) and ends (is deactivated): the webhooks module, wired by the
    composition root, so that rooms need not know who listens."""

    async def meeting_started(self, room: RoomView, meeting: MeetingView) -> None: ...

    async def meeting_ended(self, room: RoomView, meeting: MeetingView) -> None: ...


class RoomNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Room not found")


class MeetingNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Meeting not found")


class RoomNameTaken(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"A room named {name!r} already exists: choose another name")


class InvalidRoomName(DomainError):
    status: ClassVar[int] = 422


class NoWebhookUrl(DomainError):
    def __init__(self) -> None:
        super().__init__("This room has no webhook URL: set one in the room's settings first")


class MeetingNotActive(DomainError):
    def __init__(self, message: str = "Meeting is not active") -> None:
        super().__init__(message)


class PlatformNotConfigured(DomainError):
    status: ClassVar[int] = 503

    def __init__(self, platform: str) -> None:
        super().__init__(f"No video platform is configured for {platform}")


class MeetingCreationBusy(DomainError):
    status: ClassVar[int] = 503

    def __init__(self) -> None:
        super().__init__("Meeting creation in progress, please try again")
