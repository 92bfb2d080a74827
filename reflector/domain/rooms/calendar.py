"""A room's calendar feed (ICS) read into the events that belong to the room.

- Parsed with `icalendar`; a Google feed that names its zone only in `X-WR-TIMEZONE` is repaired first
  (`x-wr-timezone`), and recurring events are expanded within the window (`recurring-ical-events`: RRULE,
  RDATE, EXDATE, and an occurrence moved by its own VEVENT with a RECURRENCE-ID), which Reflector never does.
- An event is the room's when the room's address appears in its LOCATION or DESCRIPTION *as a whole*: the
  character after it may not continue a room name, so room `team` does not take `team-standup`'s events
  (Reflector matches a substring).
- Each occurrence is keyed by (UID, recurrence id): "" for a single event, the occurrence's original start
  for one of a series, so moving one occurrence updates it instead of adding another.
- Times are aware and in UTC; an all-day event runs from midnight UTC (Reflector's rule), an event without
  DTEND lasts an hour.
"""

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

import icalendar
import msgspec
import recurring_ical_events
import x_wr_timezone

from reflector.domain.errors import DomainError

DEFAULT_LENGTH = timedelta(hours=1)


class Attendee(msgspec.Struct, frozen=True):
    email: str
    name: str | None = None
    status: str | None = None
    role: str | None = None


class CalendarEntry(msgspec.Struct, frozen=True):
    uid: str
    recurrence_id: str
    title: str
    description: str
    location: str
    start: datetime
    end: datetime
    attendees: list[Attendee]
    cancelled: bool
    raw: str


class CalendarEventView(msgspec.Struct, frozen=True):
    """An occurrence of the room's calendar as stored (Reflector's CalendarEventResponse, and more)."""

    id: str
    room_id: str
    ics_uid: str
    recurrence_id: str
    title: str
    description: str
    start_time: datetime
    end_time: datetime
    attendees: list[Attendee]
    location: str
    last_synced: datetime
    is_deleted: bool
    created_at: datetime
    updated_at: datetime


class UnreadableCalendar(DomainError):
    """The feed is not an iCalendar file we can read; the message says what went wrong."""

    # The room's calendar server answered with something that is not a calendar: a bad gateway.
    status: ClassVar[int] = 502


def room_pattern(room_url: str) -> re.Pattern[str]:
    """The room's address, case-insensitive, not followed by what would continue a room name or path."""
    return re.compile(re.escape(room_url.rstrip("/")) + r"(?![A-Za-z0-9_-])", re.IGNORECASE)


def _utc(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=UTC)  # all day: from midnight UTC


def _text(component: Any, name: str) -> str:
    value = component.get(name)
    return str(value) if value is not None else ""


def _attendees(component: Any) -> list[Attendee]:
    found: list[Attendee] = []
    values = component.get("ATTENDEE") or []
    for value in values if isinstance(values, list) else [values]:
        params = getattr(value, "params", {})
        # Some feeds join several addresses in one ATTENDEE: each is an attendee of its own.
        for address in str(value).split(","):
            email = re.sub(r"^mailto:", "", address.strip(), flags=re.IGNORECASE)
            if email:
                found.append(
                    Attendee(email=email, name=params.get("CN"), status=params.get("PARTSTAT"), role=params.get("ROLE"))
                )
    organizer = component.get("ORGANIZER")
    if organizer is not None:
        email = re.sub(r"^mailto:", "", str(organizer), flags=re.IGNORECASE)
        if email and all(a.email != email for a in found):
            found.append(Attendee(email=email, name=getattr(organizer, "params", {}).get("CN"), role="ORGANIZER"))
    return found


def read_calendar(ics: bytes) -> Any:
    try:
        calendar = icalendar.Calendar.from_ical(ics)
    except (ValueError, IndexError, KeyError) as exc:
        raise UnreadableCalendar(f"The calendar feed is not a readable iCalendar file ({exc})") from exc
    return x_wr_timezone.to_standard(calendar)


def room_events(ics: bytes, room_url: str, start: datetime, end: datetime) -> tuple[list[CalendarEntry], int]:
    """The room's events occurring in [start, end], recurring ones expanded, cancelled ones included (with
    `cancelled`) so that a cancellation can close what was prepared for them; and how many events the whole
    feed has."""
    calendar = read_calendar(ics)
    pattern = room_pattern(room_url)
    # Events of a series, or overriding one occurrence of a series: keyed by their occurrence. Any other is
    # keyed by its UID alone (recurring-ical-events gives every occurrence a RECURRENCE-ID, single ones too).
    series = {
        _text(c, "UID") for c in calendar.walk("VEVENT") if c.get("RRULE") or c.get("RDATE") or c.get("RECURRENCE-ID")
    }
    try:
        occurrences: Iterable[Any] = recurring_ical_events.of(calendar).between(start, end)
    except Exception as exc:  # a malformed RRULE or date
        raise UnreadableCalendar(f"The calendar feed's events could not be read ({exc})") from exc
    entries: dict[tuple[str, str], CalendarEntry] = {}
    for event in occurrences:
        if event.name != "VEVENT":
            continue
        location, description = _text(event, "LOCATION"), _text(event, "DESCRIPTION")
        if not (pattern.search(location) or pattern.search(description)):
            continue
        uid = _text(event, "UID")
        began = event.get("DTSTART")
        if not uid or began is None:
            continue
        starts = _utc(began.dt)
        finished = event.get("DTEND")
        ends = _utc(finished.dt) if finished is not None else starts + DEFAULT_LENGTH
        recurrence = event.get("RECURRENCE-ID")
        if uid not in series:
            recurrence_id = ""
        elif recurrence is not None:
            recurrence_id = _utc(recurrence.dt).isoformat()
        else:
            recurrence_id = starts.isoformat()
        entries[(uid, recurrence_id)] = CalendarEntry(
            uid=uid,
            recurrence_id=recurrence_id,
            title=_text(event, "SUMMARY"),
            description=description,
            location=location,
            start=starts,
            end=max(ends, starts),
            attendees=_attendees(event),
            cancelled=_text(event, "STATUS").upper() == "CANCELLED",
            raw=event.to_ical().decode(errors="replace"),
        )
    total = len(calendar.walk("VEVENT"))
    return sorted(entries.values(), key=lambda e: (e.start, e.uid, e.recurrence_id)), total
