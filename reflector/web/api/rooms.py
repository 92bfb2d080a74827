"""Rooms and their meetings (Reflector's views/rooms.py): paths, methods and JSON fields as Reflector's.

Unlike Reflector, a duplicate name is a 409 with a sentence (not a 500), a bad setting a 422, and a room's
webhook secret is shown to its owner only.
"""

import math
from datetime import datetime
from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import QueryParameter

from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller
from reflector.domain.rooms.access import shown_meeting, shown_room
from reflector.domain.rooms.models import (
    MeetingView,
    Platform,
    RecordingTrigger,
    RecordingType,
    RoomChanges,
    RoomMode,
    RoomSettings,
    RoomView,
)
from reflector.web.api import schemas as s


class Room(msgspec.Struct):
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
    ics_url: str | None
    ics_fetch_interval: int
    ics_enabled: bool
    ics_last_sync: datetime | None
    ics_last_etag: str | None
    platform: Platform
    skip_consent: bool
    # Reflector 0.45's additions.
    store_video: bool
    email_transcript_to: str | None
    # Ours: its transcripts' audio is deleted this many days after they were made, their text kept (null: kept).
    audio_retention_days: int | None


class RoomDetails(Room):
    """A room with its outbound webhook, which only its owner is shown (others get nulls)."""

    webhook_url: str | None
    webhook_secret: str | None
    # Ours: the events the webhook is limited to (null: all).
    webhook_events: list[str] | None = None


class RoomDeletion(s.DeletionStatus):
    """Reflector's `{status: "ok"}`, and (ours) how many of the room's transcripts were kept, detached."""

    transcripts_kept: int = 0


class RoomsPage(msgspec.Struct):
    items: list[RoomDetails]
    total: int
    page: int
    size: int
    pages: int


class CreateRoom(RoomSettings, kw_only=True):
    pass


class UpdateRoom(RoomChanges, kw_only=True):
    pass


class CreateRoomMeeting(msgspec.Struct):
    allow_duplicated: bool | None = False


class Meeting(msgspec.Struct):
    id: str
    room_name: str
    room_url: str
    host_room_url: str
    start_date: datetime
    end_date: datetime
    user_id: str | None
    room_id: str | None
    is_locked: bool
    room_mode: RoomMode
    recording_type: RecordingType
    recording_trigger: RecordingTrigger
    num_clients: int
    is_active: bool
    calendar_event_id: str | None
    calendar_metadata: dict[str, Any] | None
    platform: Platform
    daily_composed_video_s3_key: str | None
    daily_composed_video_duration: int | None


def details(caller: Caller, room: RoomView) -> RoomDetails:
    return msgspec.convert(msgspec.structs.asdict(shown_room(caller, room)), RoomDetails)


def meeting_of(caller: Caller, room: RoomView, meeting: MeetingView) -> Meeting:
    # Reflector's meeting has no owner of its own: `user_id` is always null.
    shown = msgspec.structs.asdict(shown_meeting(caller, room, meeting))
    return msgspec.convert({**shown, "user_id": None}, Meeting)


class RoomsController(Controller):
    path = "/v1/rooms"
    tags: ClassVar[list[str]] = ["rooms"]

    @get("/", opt={"access": "listing"})
    async def rooms_list(
        self,
        services: Services,
        caller: Caller,
        page: Annotated[int, QueryParameter(ge=1, le=s.MAX_PAGE)] = 1,
        size: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
    ) -> RoomsPage:
        rooms, total = await services.rooms.page(caller, page, size)
        return RoomsPage(
            items=[details(caller, r) for r in rooms], total=total, page=page, size=size, pages=math.ceil(total / size)
        )

    @get("/{room_id:str}", opt={"access": "room"})
    async def rooms_get(self, services: Services, caller: Caller, room_id: str) -> RoomDetails:
        return details(caller, await services.rooms.get(room_id))

    @get("/name/{room_name:str}", opt={"access": "open"})
    async def rooms_get_by_name(self, services: Services, caller: Caller, room_name: str) -> RoomDetails:
        return details(caller, await services.rooms.named(room_name))

    @post("/", status_code=200, opt={"access": "member"})
    async def rooms_create(self, services: Services, caller: Caller, data: CreateRoom) -> RoomDetails:
        assert caller.user_id is not None  # the rule: signed in
        return details(caller, await services.rooms.create(caller.user_id, data))

    @patch("/{room_id:str}", opt={"access": "room_owner"})
    async def rooms_update(self, services: Services, caller: Caller, room_id: str, data: UpdateRoom) -> RoomDetails:
        return details(caller, await services.rooms.update(room_id, data))

    @delete("/{room_id:str}", status_code=200, opt={"access": "room_owner"})
    async def rooms_delete(self, services: Services, room_id: str) -> RoomDeletion:
        """Delete the room with its meetings and calendar. Its transcripts are kept, each with its owner,
        detached from the room (their `room_id` and `meeting_id` become null); `transcripts_kept` counts them."""
        kept = await services.rooms.delete(room_id)
        return RoomDeletion(status="ok", transcripts_kept=kept)

    @post("/{room_name:str}/meeting", status_code=200, opt={"access": "open"})
    async def rooms_create_meeting(
        self, services: Services, caller: Caller, room_name: str, data: CreateRoomMeeting | None = None
    ) -> Meeting:
        room = await services.rooms.named(room_name)
        duplicate = bool(data and data.allow_duplicated)
        return meeting_of(caller, room, await services.meetings.meeting_for(room, allow_duplicated=duplicate))

    @get("/{room_name:str}/meetings/active", opt={"access": "open"})
    async def rooms_list_active_meetings(self, services: Services, caller: Caller, room_name: str) -> list[Meeting]:
        room = await services.rooms.named(room_name)
        return [meeting_of(caller, room, m) for m in await services.meetings.active(room)]

    @get("/{room_name:str}/meetings/{meeting_id:str}", opt={"access": "open"})
    async def rooms_get_meeting(self, services: Services, caller: Caller, room_name: str, meeting_id: str) -> Meeting:
        room = await services.rooms.named(room_name)
        return meeting_of(caller, room, await services.meetings.in_room(room, meeting_id))

    @post("/{room_name:str}/meetings/{meeting_id:str}/join", status_code=200, opt={"access": "open"})
    async def rooms_join_meeting(
        self,
        services: Services,
        caller: Caller,
        room_name: str,
        meeting_id: str,
        display_name: Annotated[str | None, QueryParameter(max_length=255)] = None,
    ) -> Meeting:
        """The meeting's link for this person: a Daily token when signed in, a LiveKit identity of
        `display_name` (Reflector 0.45's parameter) for anyone."""
        room = await services.rooms.named(room_name)
        return meeting_of(caller, room, await services.meetings.join(room, meeting_id, caller, display_name))


ROUTES = [RoomsController]
