"""Daily.co's REST API (https://docs.daily.co/reference/rest-api): one Daily room per meeting, meeting tokens,
presence, recordings started by the server, and the domain's webhooks. Bearer key, base URL from settings."""

from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

import msgspec

from reflector.adapters.platforms.transport import BearerPlatformHttp, PlatformError
from reflector.settings import PlatformSettings

DEFAULT_API_URL = "https://api.daily.co/v1"
PLATFORM = "Daily"

RecordingType = Literal["cloud", "raw-tracks"]


class RecordingsBucket(msgspec.Struct, frozen=True):
    """Our bucket, which Daily writes recordings to by assuming `assume_role_arn`."""

    bucket_name: str
    bucket_region: str
    assume_role_arn: str
    allow_api_access: bool = True


class RoomProperties(msgspec.Struct, frozen=True, omit_defaults=True):
    """What a Daily room allows; a property left None is not sent, so Daily's own default applies."""

    exp: int | None = None  # unix seconds after which nobody may join
    enable_recording: Literal["cloud", "raw-tracks", "local"] | None = None
    enable_chat: bool | None = None
    enable_screenshare: bool | None = None
    enable_knocking: bool | None = None
    recordings_bucket: RecordingsBucket | None = None


class CreateRoom(msgspec.Struct, frozen=True, omit_defaults=True):
    name: str
    privacy: Literal["public", "private"] = "public"
    properties: RoomProperties = RoomProperties()


class DailyRoom(msgspec.Struct, frozen=True):
    id: str
    name: str
    url: str
    privacy: str = "public"
    api_created: bool = True
    created_at: str | None = None
    config: RoomProperties = RoomProperties()


class _RoomChange(msgspec.Struct, frozen=True):
    properties: RoomProperties


class PresenceParticipant(msgspec.Struct, frozen=True, rename="camel"):
    id: str
    room: str = ""
    user_id: str | None = None
    user_name: str | None = None
    join_time: str | None = None  # ISO 8601
    duration: int = 0


class Presence(msgspec.Struct, frozen=True):
    total_count: int = 0
    data: list[PresenceParticipant] = []


class TokenProperties(msgspec.Struct, frozen=True, omit_defaults=True):
    room_name: str
    user_id: str | None = None
    user_name: str | None = None
    is_owner: bool = False
    exp: int | None = None
    enable_recording_ui: bool | None = None


class _TokenRequest(msgspec.Struct, frozen=True):
    properties: TokenProperties


class _Token(msgspec.Struct, frozen=True):
    token: str


class _StartRecording(msgspec.Struct, frozen=True, rename="camel"):
    type: RecordingType
    instance_id: str


class _Started(msgspec.Struct, frozen=True, rename="camel"):
    recording_id: str


class RecordingTrack(msgspec.Struct, frozen=True, rename="camel"):
    type: str  # audio | video
    s3_key: str
    size: int = 0


class S3Location(msgspec.Struct, frozen=True):
    bucket_name: str
    bucket_region: str
    key: str | None = None


class DailyRecording(msgspec.Struct, frozen=True):
    id: str
    room_name: str
    start_ts: float
    status: str
    duration: float | None = None
    max_participants: int | None = None
    s3key: str | None = None
    s3: S3Location | None = None
    tracks: list[RecordingTrack] = []
    meeting_session_id: str | None = msgspec.field(default=None, name="mtgSessionId")


class RecordingList(msgspec.Struct, frozen=True):
    total_count: int = 0
    data: list[DailyRecording] = []


class AccessLink(msgspec.Struct, frozen=True):
    download_link: str
    expires: int


class MeetingParticipant(msgspec.Struct, frozen=True):
    participant_id: str
    user_id: str | None = None
    user_name: str | None = None
    join_time: float | None = None
    duration: float | None = None


class DailyMeeting(msgspec.Struct, frozen=True):
    id: str
    room: str
    start_time: float | None = None
    duration: float | None = None
    ongoing: bool = False
    max_participants: int | None = None


class _Participants(msgspec.Struct, frozen=True):
    data: list[MeetingParticipant] = []


class DailyWebhook(msgspec.Struct, frozen=True, rename="camel"):
    uuid: str
    url: str
    state: str = "ACTIVE"  # ACTIVE | FAILED
    failed_count: int = 0
    event_types: list[str] = []
    hmac: str | None = None
    retry_type: str | None = None


class _WebhookChange(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    url: str | None = None
    event_types: list[str] | None = None
    hmac: str | None = None


class RecordingAlreadyActive(PlatformError):
    """Daily already records that room with this instance id: not a failure for whoever asked to start."""


def _segment(value: str) -> str:
    return quote(value, safe="")


def daily_room_name(room_name: str, now: datetime) -> str:
    """One Daily room per meeting, named after the Reflector room and the minute it opened (as Reflector)."""
    return f"{room_name}-{now.astimezone(UTC):%Y%m%d%H%M%S}"


class DailyClient(BearerPlatformHttp):
    platform_name = PLATFORM
    default_api_url = DEFAULT_API_URL

    @classmethod
    def from_settings(cls, platforms: PlatformSettings) -> "DailyClient":
        if not platforms.daily_api_key:
            raise PlatformError(PLATFORM, "Daily is not configured: set DAILY_API_KEY")
        return cls(platforms.daily_api_key, platforms.daily_api_url)

    async def create_room(
        self,
        room_name: str,
        *,
        now: datetime,
        privacy: Literal["public", "private"] = "public",
        properties: RoomProperties | None = None,
    ) -> DailyRoom:
        name = daily_room_name(room_name, now)
        request = CreateRoom(name=name, privacy=privacy, properties=properties or RoomProperties())
        return await self.call("POST", "/rooms", body=request, expect=DailyRoom)

    async def update_room(self, name: str, properties: RoomProperties) -> DailyRoom:
        """Change a room's properties, e.g. push its `exp` back for a meeting still in use."""
        return await self.call("POST", f"/rooms/{_segment(name)}", body=_RoomChange(properties), expect=DailyRoom)

    async def get_room(self, name: str) -> DailyRoom:
        return await self.call("GET", f"/rooms/{_segment(name)}", expect=DailyRoom)

    async def delete_room(self, name: str) -> bool:
        """Delete the Daily room; False when it was already gone."""
        try:
            await self.call("DELETE", f"/rooms/{_segment(name)}")
        except PlatformError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def presence(self, name: str) -> Presence:
        return await self.call("GET", f"/rooms/{_segment(name)}/presence", expect=Presence)

    async def meeting_token(
        self,
        room_name: str,
        *,
        user_id: str | None = None,
        user_name: str | None = None,
        is_owner: bool = False,
        exp: int | None = None,
    ) -> str:
        properties = TokenProperties(
            room_name=room_name, user_id=user_id, user_name=user_name, is_owner=is_owner, exp=exp
        )
        token = await self.call("POST", "/meeting-tokens", body=_TokenRequest(properties), expect=_Token)
        return token.token

    async def start_recording(self, room_name: str, kind: RecordingType, instance_id: str) -> str:
        """Start a recording of the room's call; the recording id Daily will name in its webhooks."""
        try:
            started = await self.call(
                "POST",
                f"/rooms/{_segment(room_name)}/recordings/start",
                body=_StartRecording(type=kind, instance_id=instance_id),
                expect=_Started,
            )
        except PlatformError as exc:
            if exc.status is not None and "active stream" in exc.body:
                raise RecordingAlreadyActive(
                    PLATFORM, f"Daily is already recording {room_name} ({kind})", status=exc.status, body=exc.body
                ) from exc
            raise
        return started.recording_id

    async def get_recording(self, recording_id: str) -> DailyRecording:
        return await self.call("GET", f"/recordings/{_segment(recording_id)}", expect=DailyRecording)

    async def list_recordings(
        self, *, room_name: str | None = None, limit: int = 100, starting_after: str | None = None
    ) -> RecordingList:
        params = {"room_name": room_name, "limit": limit, "starting_after": starting_after}
        return await self.call("GET", "/recordings", params=params, expect=RecordingList)

    async def recording_access_link(self, recording_id: str) -> AccessLink:
        return await self.call("GET", f"/recordings/{_segment(recording_id)}/access-link", expect=AccessLink)

    async def meeting(self, meeting_session_id: str) -> DailyMeeting:
        """One session of a call in a room (Daily's "meeting": from the first join to the last leave)."""
        return await self.call("GET", f"/meetings/{_segment(meeting_session_id)}", expect=DailyMeeting)

    async def meeting_participants(self, meeting_session_id: str) -> list[MeetingParticipant]:
        answer = await self.call("GET", f"/meetings/{_segment(meeting_session_id)}/participants", expect=_Participants)
        return answer.data

    async def list_webhooks(self) -> list[DailyWebhook]:
        return await self.call("GET", "/webhooks", expect=list[DailyWebhook])

    async def create_webhook(self, url: str, event_types: list[str], *, hmac: str | None = None) -> DailyWebhook:
        """Daily first POSTs {"test":"test"} to `url` and creates the webhook only if that answers 200."""
        change = _WebhookChange(url=url, event_types=event_types, hmac=hmac)
        return await self.call("POST", "/webhooks", body=change, expect=DailyWebhook)

    async def update_webhook(
        self, uuid: str, *, url: str | None = None, event_types: list[str] | None = None, hmac: str | None = None
    ) -> DailyWebhook:
        """Change a webhook; updating one Daily set FAILED makes it ACTIVE again."""
        change = _WebhookChange(url=url, event_types=event_types, hmac=hmac)
        return await self.call("POST", f"/webhooks/{_segment(uuid)}", body=change, expect=DailyWebhook)

    async def delete_webhook(self, uuid: str) -> None:
        await self.call("DELETE", f"/webhooks/{_segment(uuid)}")
