"""A room's calendar (Reflector's ICS routes in views/rooms.py): sync now and its status (the room's owner),
and its events, all or upcoming (anyone; descriptions and attendees for the owner only)."""

from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Controller, get, post
from litestar.params import QueryParameter

from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller
from reflector.domain.ids import now
from reflector.domain.rooms.access import owns
from reflector.domain.rooms.calendar import CalendarEventView
from reflector.domain.rooms.calendar_sync import CalendarNotConfigured, CalendarStatus, SyncResult


class CalendarEventResponse(msgspec.Struct):
    """Reflector's CalendarEventResponse: `description` and `attendees` are null for all but the owner."""

    id: str
    room_id: str
    ics_uid: str
    title: str | None
    description: str | None
    start_time: datetime
    end_time: datetime
    attendees: list[dict[str, Any]] | None
    location: str | None
    last_synced: datetime
    created_at: datetime
    updated_at: datetime


def _shown(event: CalendarEventView, owner: bool) -> CalendarEventResponse:
    return CalendarEventResponse(
        id=event.id,
        room_id=event.room_id,
        ics_uid=event.ics_uid,
        title=event.title or None,
        description=(event.description or None) if owner else None,
        start_time=event.start_time,
        end_time=event.end_time,
        attendees=msgspec.to_builtins(event.attendees) if owner else None,
        location=event.location or None,
        last_synced=event.last_synced,
        created_at=event.created_at,
        updated_at=event.updated_at,
    )


class RoomCalendarController(Controller):
    path = "/v1/rooms"
    tags: ClassVar[list[str]] = ["rooms"]

    @post("/{room_name:str}/ics/sync", status_code=200, opt={"access": "room_owner"})
    async def rooms_sync_ics(self, services: Services, room_name: str) -> SyncResult:
        """Fetch the room's calendar now, whatever its interval (Reflector still waits for it)."""
        room = await services.rooms.named(room_name)
        if not (room.ics_enabled and room.ics_url):
            raise CalendarNotConfigured()
        result = await services.calendars.sync(room, force=True)
        await services.calendars.prepare(await services.rooms.named(room_name))
        return result

    @get("/{room_name:str}/ics/status", opt={"access": "room_owner"})
    async def rooms_ics_status(self, services: Services, room_name: str) -> CalendarStatus:
        return await services.calendars.status(await services.rooms.named(room_name))

    @get("/{room_name:str}/meetings", opt={"access": "open"})
    async def rooms_list_meetings(
        self, services: Services, caller: Caller, room_name: str
    ) -> list[CalendarEventResponse]:
        room = await services.rooms.named(room_name)
        owner = owns(caller, room)
        return [_shown(e, owner) for e in await services.calendars.events(room, owner)]

    @get("/{room_name:str}/meetings/upcoming", opt={"access": "open"})
    async def rooms_list_upcoming_meetings(
        self,
        services: Services,
        caller: Caller,
        room_name: str,
        minutes_ahead: Annotated[int, QueryParameter(ge=1, le=7 * 24 * 60)] = 120,
    ) -> list[CalendarEventResponse]:
        """The room's events overlapping the next `minutes_ahead` minutes."""
        room = await services.rooms.named(room_name)
        owner = owns(caller, room)
        at = now()
        events = await services.calendars.events(room, owner, start=at, end=at + timedelta(minutes=minutes_ahead))
        return [_shown(e, owner) for e in events]


ROUTES = [RoomCalendarController]
