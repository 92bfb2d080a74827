"""Whereby's Embedded API (https://docs.whereby.com/reference/whereby-rest-api-reference): one meeting per
Reflector meeting, its host URL for the room's owner, cloud recordings written to our S3 bucket, and the
room sessions the insights API reports. Bearer key, base URL from settings."""

from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

import msgspec

from reflector.adapters.platforms.transport import BearerPlatformHttp, PlatformError
from reflector.settings import PlatformSettings

DEFAULT_API_URL = "https://api.whereby.dev/v1"
PLATFORM = "Whereby"


class S3Destination(msgspec.Struct, frozen=True, rename="camel"):
    bucket: str
    access_key_id: str
    access_key_secret: str
    provider: Literal["s3"] = "s3"
    file_format: Literal["mp4"] = "mp4"


class CloudRecording(msgspec.Struct, frozen=True, rename="camel"):
    destination: S3Destination
    type: Literal["cloud"] = "cloud"
    start_trigger: Literal["none", "prompt", "automatic", "automatic-2nd-participant"] = "automatic"


class CreateMeeting(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """POST /meetings; the fields without a default are always sent, the None ones never."""

    end_date: str  # ISO 8601, UTC
    is_locked: bool
    room_name_pattern: Literal["uuid", "human-short"]
    room_mode: Literal["normal", "group"]
    fields: list[str]  # ["hostRoomUrl"]: the meeting's answer carries the host's link
    room_name_prefix: str | None = None
    recording: CloudRecording | None = None


class WherebyMeeting(msgspec.Struct, frozen=True, rename="camel"):
    meeting_id: str
    room_name: str
    room_url: str
    host_room_url: str | None = None
    start_date: str | None = None
    end_date: str | None = None


class RoomSession(msgspec.Struct, frozen=True, rename="camel"):
    room_session_id: str
    room_name: str
    started_at: str | None = None
    ended_at: str | None = None


class RoomSessions(msgspec.Struct, frozen=True):
    results: list[RoomSession] = []
    cursor: str | None = None


class WherebyClient(BearerPlatformHttp):
    platform_name = PLATFORM
    default_api_url = DEFAULT_API_URL

    @classmethod
    def from_settings(cls, platforms: PlatformSettings) -> "WherebyClient":
        if not platforms.whereby_api_key:
            raise PlatformError(PLATFORM, "Whereby is not configured: set WHEREBY_API_KEY")
        return cls(platforms.whereby_api_key, platforms.whereby_api_url)

    async def create_meeting(
        self,
        *,
        end: datetime,
        room_name_prefix: str | None = None,
        is_locked: bool = False,
        room_mode: Literal["normal", "group"] = "normal",
        recording: CloudRecording | None = None,
    ) -> WherebyMeeting:
        request = CreateMeeting(
            end_date=end.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            is_locked=is_locked,
            room_name_pattern="uuid",
            room_mode=room_mode,
            fields=["hostRoomUrl"],
            room_name_prefix=room_name_prefix,
            recording=recording,
        )
        return await self.call("POST", "/meetings", body=request, expect=WherebyMeeting)

    async def delete_meeting(self, meeting_id: str) -> bool:
        """End the meeting; False when Whereby no longer knew it."""
        try:
            await self.call("DELETE", f"/meetings/{quote(meeting_id, safe='')}")
        except PlatformError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def room_sessions(self, room_name: str, *, cursor: str | None = None) -> RoomSessions:
        params = {"roomName": room_name, "cursor": cursor}
        return await self.call("GET", "/insights/room-sessions", params=params, expect=RoomSessions)
