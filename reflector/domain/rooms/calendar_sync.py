"""A room's calendar kept in step with its ICS feed, and meetings opened for its events.

- `sync` fetches the feed (conditionally: the server's ETag, else a hash of what we read last time, so an
  unchanged feed costs no writes), reads the room's events from an hour ago to `AHEAD` (calendar.py), and
  stores each occurrence once by (room, UID, recurrence id): created, updated when anything changed, marked
  deleted when cancelled or gone from the feed (future ones only: the past is kept as it was). A meeting
  already opened for an event follows it: moved, its end and details change; cancelled or moved away while
  nobody is in it, it is closed.
- `sweep` (the workers' reaper loop) syncs each room whose interval has elapsed, then opens a meeting on the
  room's platform for each event starting within `PREPARE_BEFORE` that has none, tied to its event
  (`calendar_event_id`, `calendar_metadata`), so the lifecycle keeps it until its end (lifecycle.py).
"""

import hashlib
from datetime import datetime, timedelta
from typing import Literal, Protocol

import msgspec
import structlog
from redis.asyncio import Redis

from reflector.domain.errors import DomainError
from reflector.domain.ids import now
from reflector.domain.rooms import repository as repo
from reflector.domain.rooms.calendar import CalendarEntry, CalendarEventView, room_events
from reflector.domain.rooms.figures import mark_run
from reflector.domain.rooms.models import RoomView
from reflector.domain.rooms.service import MeetingService

log = structlog.get_logger(__name__)

BEHIND = timedelta(hours=1)
AHEAD = timedelta(days=7)  # Reflector looks 24 hours ahead
PREPARE_BEFORE = timedelta(minutes=7)


class FetchesCalendars(Protocol):
    async def fetch(self, url: str, etag: str | None) -> tuple[bytes | None, str | None]: ...


class CalendarNotConfigured(DomainError):
    status = 400

    def __init__(self) -> None:
        super().__init__("ICS not configured for this room: set its calendar URL and enable it")


class SyncResult(msgspec.Struct, kw_only=True):
    """Reflector's answer to a sync, field for field."""

    status: Literal["success", "unchanged", "error", "skipped"]
    hash: str | None = None
    events_found: int = 0
    total_events: int = 0
    events_created: int = 0
    events_updated: int = 0
    events_deleted: int = 0
    error: str | None = None
    reason: str | None = None


class CalendarStatus(msgspec.Struct, kw_only=True):
    status: Literal["enabled", "disabled"]
    last_sync: datetime | None
    next_sync: datetime | None
    last_etag: str | None
    events_count: int


class CalendarService:
    def __init__(self, redis: Redis, meetings: MeetingService, fetcher: FetchesCalendars, base_url: str) -> None:
        self._redis = redis
        self._meetings = meetings
        self._fetcher = fetcher
        self._base_url = base_url.rstrip("/")

    async def close(self) -> None:
        closing = getattr(self._fetcher, "aclose", None)
        if closing is not None:
            await closing()

    def room_url(self, room: RoomView) -> str:
        """The room's page, which an event names (in its location or description) to be the room's."""
        return f"{self._base_url}/{room.name}"

    async def sync(self, room: RoomView, *, force: bool = False) -> SyncResult:
        """Bring the room's events in step with its feed; `force` (its owner asked): whatever the interval."""
        if not (room.ics_enabled and room.ics_url):
            return SyncResult(status="skipped", reason="ICS not configured")
        at = now()
        if not force and room.ics_last_sync and at < room.ics_last_sync + timedelta(seconds=room.ics_fetch_interval):
            return SyncResult(status="skipped", reason="Sync interval not yet elapsed")
        lock = self._redis.lock(f"ics_sync:{room.id}", timeout=120, blocking_timeout=0)
        if not await lock.acquire():
            return SyncResult(status="skipped", reason="A sync of this room is under way")
        try:
            return await self._sync(room, at)
        finally:
            await lock.release()

    async def _sync(self, room: RoomView, at: datetime) -> SyncResult:
        assert room.ics_url is not None
        try:
            body, etag = await self._fetcher.fetch(room.ics_url, room.ics_last_etag)
            if body is None:
                await repo.update_room(room.id, {"ics_last_sync": at})
                return SyncResult(status="unchanged", hash=room.ics_last_etag)
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            if etag is None and digest == room.ics_last_etag:
                await repo.update_room(room.id, {"ics_last_sync": at})
                return SyncResult(status="unchanged", hash=digest)
            entries, total = room_events(body, self.room_url(room), at - BEHIND, at + AHEAD)
        except Exception as exc:  # unreachable, refused, unreadable: said to the owner, tried next interval
            await repo.update_room(room.id, {"ics_last_sync": at})
            log.warning("calendar.sync_failed", room_id=room.id, error=str(exc))
            return SyncResult(status="error", error=str(exc))
        result = SyncResult(status="success", hash=digest, total_events=total)
        live = [e for e in entries if not e.cancelled]
        result.events_found = len(live)
        for entry in live:
            outcome = await repo.save_calendar_event(room.id, _values(entry), at)
            result.events_created += outcome == "created"
            result.events_updated += outcome == "updated"
        gone = await repo.delete_calendar_events_except(room.id, {(e.uid, e.recurrence_id) for e in live}, at, at)
        result.events_deleted = len(gone)
        await repo.update_room(room.id, {"ics_last_sync": at, "ics_last_etag": etag or digest})
        await self._follow(room, at)
        log.info("calendar.synced", room_id=room.id, **msgspec.structs.asdict(result))
        return result

    async def _follow(self, room: RoomView, at: datetime) -> None:
        """The meetings opened for the room's events follow them: moved, cancelled or gone."""
        events = {e.id: e for e in await repo.room_calendar_events(room.id, deleted=True)}
        for meeting in await repo.meetings_of_events(list(events)):
            event = events[meeting.calendar_event_id or ""]
            away = event.is_deleted or event.start_time > at + PREPARE_BEFORE or event.end_time <= at
            if away and meeting.num_clients == 0:
                await self._meetings.end(meeting.id)  # ended as by its owner: whoever listens hears of it
                log.info("meeting.closed", meeting_id=meeting.id, reason="its calendar event moved or was cancelled")
            elif not event.is_deleted:
                end = max(event.end_time, meeting.end_date if meeting.num_clients else event.end_time)
                await repo.update_meeting(meeting.id, {"end_date": end, "calendar_metadata": _metadata(event)})

    async def sweep(self) -> int:
        """Sync the rooms whose interval elapsed, then open meetings for events about to start; how many
        meetings were opened."""
        opened = 0
        for room in await repo.rooms_with_calendars():
            await self.sync(room)
            opened += await self.prepare(room)
        await mark_run(self._redis, "calendars")
        return opened

    async def prepare(self, room: RoomView) -> int:
        """A meeting for each of the room's events starting within PREPARE_BEFORE (and not over) that has
        none yet; how many were opened."""
        at = now()
        soon = await repo.room_calendar_events(room.id, start=at, end=at + PREPARE_BEFORE)
        have = {m.calendar_event_id for m in await repo.meetings_of_events([e.id for e in soon])}
        opened = 0
        for event in soon:
            if event.id in have:
                continue
            try:
                await self._meetings.open_for_event(room, event.id, _metadata(event), event.end_time)
                opened += 1
            except Exception as exc:  # the platform away: tried again next sweep
                log.warning("calendar.meeting_failed", room_id=room.id, event_id=event.id, error=str(exc))
        return opened

    async def status(self, room: RoomView) -> CalendarStatus:
        enabled = bool(room.ics_enabled and room.ics_url)
        count = len(await repo.room_calendar_events(room.id))
        following = room.ics_last_sync + timedelta(seconds=room.ics_fetch_interval) if room.ics_last_sync else None
        return CalendarStatus(
            status="enabled" if enabled else "disabled",
            last_sync=room.ics_last_sync,
            next_sync=following if enabled else None,
            last_etag=room.ics_last_etag,
            events_count=count,
        )

    async def event(self, event_id: str) -> CalendarEventView | None:
        """One stored event by its id (a meeting's `calendar_event_id`), deleted or not."""
        return await repo.get_calendar_event(event_id)

    async def events(
        self, room: RoomView, owner: bool, *, start: datetime | None = None, end: datetime | None = None
    ) -> list[CalendarEventView]:
        """The room's events by start (overlapping [start, end] when given); descriptions and attendees are
        its owner's to see."""
        events = await repo.room_calendar_events(room.id, start=start, end=end)
        if owner:
            return events
        return [msgspec.structs.replace(e, description="", attendees=[]) for e in events]


def _values(entry: CalendarEntry) -> dict[str, object]:
    return {
        "ics_uid": entry.uid,
        "recurrence_id": entry.recurrence_id,
        "title": entry.title,
        "description": entry.description,
        "start_time": entry.start,
        "end_time": entry.end,
        "attendees": msgspec.to_builtins(entry.attendees),
        "location": entry.location,
        "ics_raw_data": entry.raw,
    }


def _metadata(event: CalendarEventView) -> dict[str, object]:
    return {
        "title": event.title,
        "description": event.description,
        "attendees": msgspec.to_builtins(event.attendees),
    }
