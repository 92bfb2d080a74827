"""A room's calendar feed against the real PostgreSQL and Redis, served by a local HTTP server that answers
If-None-Match with 304: which events are the room's (inside the window, not cancelled, the room's address at a
boundary so `team` does not take `team-standup`'s), a weekly series expanded with its EXDATE and a moved
occurrence, all-day and TZID times, no duplicates after a re-sync, moved and cancelled events followed (their
meeting too), meetings opened for events about to start, and a feed on a private address refused."""

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from reflector.adapters.calendar_http import CalendarHttp
from reflector.bootstrap import Services
from reflector.domain.ids import now
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.calendar_sync import CalendarService
from reflector.domain.rooms.models import RoomChanges, RoomSettings, RoomView
from tests.meeting_platform import RecordingPlatform, with_platform
from tests.platforms.fake_server import FakePlatform, Served

BASE = "https://reflector.example"


class IcsServer(FakePlatform):
    """Serves `body` at /calendar.ics with an ETag of its version; 304 when asked with the current one."""

    def __init__(self) -> None:
        super().__init__()
        self.body = b""
        self.version = 0
        self.answers: list[int] = []

    def publish(self, text: str) -> None:
        self.body, self.version = text.replace("\n", "\r\n").encode(), self.version + 1

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        etag = f'"v{self.version}"'
        status = 304 if headers.get("if-none-match") == etag else 200
        if scope["path"] != "/calendar.ics":
            status = 404
        self.answers.append(status)
        reply = [(b"etag", etag.encode()), (b"content-type", b"text/calendar; charset=utf-8")]
        await send({"type": "http.response.start", "status": status, "headers": reply})
        await send({"type": "http.response.body", "body": self.body if status == 200 else b""})

    @property
    def url(self) -> str:
        return f"{self.base_url}/calendar.ics"


@pytest.fixture
def ics() -> Iterator[IcsServer]:
    server = IcsServer()
    served = Served(server).start()
    try:
        yield server
    finally:
        served.stop()


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def vevent(uid: str, start: datetime, *, room: str = "team", minutes: int = 30, extra: str = "") -> str:
    return (
        f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:{stamp(start)}\nSUMMARY:{uid} meeting\nDTSTART:{stamp(start)}\n"
        f"DTEND:{stamp(start + timedelta(minutes=minutes))}\nLOCATION:{BASE}/{room}\n"
        f"DESCRIPTION:Agenda for {uid}\nATTENDEE;CN=Ana;PARTSTAT=ACCEPTED:mailto:ana@example.org,bob@example.org\n"
        f"{extra}END:VEVENT\n"
    )


def calendar(*events: str) -> str:
    return "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Reflector tests//EN\n" + "".join(events) + "END:VCALENDAR\n"


class Feed:
    """The fixture calendar, its times relative to `at` (the sync runs on the real clock)."""

    def __init__(self, at: datetime) -> None:
        self.at = at.replace(second=0, microsecond=0)
        self.soon = self.at + timedelta(minutes=5)
        self.series = self.at + timedelta(days=1, hours=2)
        self.paris = datetime.combine((self.at + timedelta(days=2)).date(), datetime.min.time()).replace(
            hour=10, tzinfo=ZoneInfo("Europe/Paris")
        )
        self.day = (self.at + timedelta(days=3)).date()

    def text(self, *, soon_moved: bool = False, cancel_later: bool = False) -> str:
        soon = self.soon + timedelta(days=1) if soon_moved else self.soon
        weekly = (
            f"BEGIN:VEVENT\nUID:weekly\nDTSTAMP:{stamp(self.at)}\nSUMMARY:Weekly\nDTSTART:{stamp(self.series)}\n"
            f"DTEND:{stamp(self.series + timedelta(minutes=45))}\nRRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU\n"
            f"EXDATE:{stamp(self.series + timedelta(days=2))}\nDESCRIPTION:Join at {BASE}/team.\nEND:VEVENT\n"
            # The occurrence of day 3 moved two hours later, by an event of its own.
            f"BEGIN:VEVENT\nUID:weekly\nDTSTAMP:{stamp(self.at)}\nSUMMARY:Weekly (moved)\n"
            f"RECURRENCE-ID:{stamp(self.series + timedelta(days=3))}\n"
            f"DTSTART:{stamp(self.series + timedelta(days=3, hours=2))}\n"
            f"DTEND:{stamp(self.series + timedelta(days=3, hours=3))}\nLOCATION:{BASE}/TEAM\nEND:VEVENT\n"
        )
        paris = (
            f"BEGIN:VEVENT\nUID:paris\nDTSTAMP:{stamp(self.at)}\nSUMMARY:Paris\n"
            f"DTSTART;TZID=Europe/Paris:{self.paris:%Y%m%dT%H%M%S}\n"
            f"DTEND;TZID=Europe/Paris:{self.paris + timedelta(hours=1):%Y%m%dT%H%M%S}\nLOCATION:{BASE}/team\n"
            "END:VEVENT\n"
        )
        all_day = (
            f"BEGIN:VEVENT\nUID:offsite\nDTSTAMP:{stamp(self.at)}\nSUMMARY:Offsite\nDTSTART;VALUE=DATE:{self.day:%Y%m%d}\n"
            f"DTEND;VALUE=DATE:{self.day + timedelta(days=1):%Y%m%d}\nLOCATION:{BASE}/team\nEND:VEVENT\n"
        )
        return calendar(
            vevent("soon", soon, extra="SEQUENCE:1\n" if soon_moved else ""),
            vevent("later", self.at + timedelta(hours=3), extra="STATUS:CANCELLED\n" if cancel_later else ""),
            vevent("cancelled", self.at + timedelta(hours=4), extra="STATUS:CANCELLED\n"),
            vevent("far", self.at + timedelta(days=10)),
            vevent("other-room", self.at + timedelta(hours=2), room="team-standup"),
            vevent("old", self.at - timedelta(days=2)),
            weekly,
            paris,
            all_day,
        )


@dataclasses.dataclass
class Calendars:
    services: Services
    calendars: CalendarService
    platform: RecordingPlatform


@pytest.fixture
async def calendars(clean: Services) -> AsyncIterator[Calendars]:
    platform = RecordingPlatform()
    services = with_platform(clean, platform)
    service = CalendarService(services.redis, services.meetings, CalendarHttp(allow_private=True), BASE)
    yield Calendars(services, service, platform)
    await service.close()


async def room_on(services: Services, name: str, url: str) -> RoomView:
    settings = RoomSettings(name=name, platform="daily", ics_url=url, ics_enabled=True, ics_fetch_interval=60)
    return await services.rooms.create("alice", settings)


async def test_the_rooms_events_are_read_once_and_follow_the_feed(calendars: Calendars, ics: IcsServer) -> None:
    services, service = calendars.services, calendars.calendars
    feed = Feed(now())
    ics.publish(feed.text())
    team = await room_on(services, "team", ics.url)
    standup = await room_on(services, "team-standup", ics.url)

    first = await service.sync(team)
    assert first.status == "success" and first.total_events == 10
    events = await service.events(team, owner=True)
    titles = [(e.ics_uid, e.title) for e in events]
    weekly = [e for e in events if e.ics_uid == "weekly"]
    # Weekly from day 1 at +2 h, day 3 left out (EXDATE), day 4 moved two hours (its own event); to day 7.
    assert [e.start_time - feed.series for e in weekly] == [
        timedelta(days=0),
        timedelta(days=1),
        timedelta(days=3, hours=2),
        timedelta(days=4),
        timedelta(days=5),
    ]
    assert ("weekly", "Weekly (moved)") in titles
    assert {uid for uid, _ in titles} == {"soon", "later", "weekly", "paris", "offsite"}  # not cancelled, far,
    assert first.events_found == len(events) == first.events_created == 9  # old, nor team-standup's
    paris = next(e for e in events if e.ics_uid == "paris")
    assert paris.start_time == feed.paris.astimezone(UTC)  # TZID
    offsite = next(e for e in events if e.ics_uid == "offsite")
    assert offsite.start_time == datetime.combine(feed.day, datetime.min.time(), tzinfo=UTC)  # all day
    soon = next(e for e in events if e.ics_uid == "soon")
    assert [a.email for a in soon.attendees] == ["ana@example.org", "bob@example.org"]
    assert [e.ics_uid for e in await service.events(standup, owner=True)] == []
    assert (await service.sync(standup)).events_found == 1
    assert [e.ics_uid for e in await service.events(standup, owner=True)] == ["other-room"]
    shown = await service.events(team, owner=False)
    assert all(e.description == "" and e.attendees == [] for e in shown)

    # The same feed again: the server says 304, nothing is written; within the interval, nothing is asked.
    assert (await service.sync(await services.rooms.get(team.id))).status == "skipped"
    again = await service.sync(await services.rooms.get(team.id), force=True)
    assert again.status == "unchanged" and ics.answers[-1] == 304
    # Moved and cancelled: updated in place, marked deleted; never a duplicate.
    ics.publish(feed.text(soon_moved=True, cancel_later=True))
    changed = await service.sync(await services.rooms.get(team.id), force=True)
    assert (changed.events_created, changed.events_updated, changed.events_deleted) == (0, 1, 1)
    after = await service.events(team, owner=True)
    assert len(after) == 8 and len({(e.ics_uid, e.recurrence_id) for e in after}) == 8
    assert next(e for e in after if e.ics_uid == "soon").start_time == feed.soon + timedelta(days=1)
    rows = await rooms_table.room_calendar_events(team.id, deleted=True)
    assert len(rows) == 9  # the cancelled one is kept, marked deleted


async def test_a_meeting_is_opened_for_an_event_about_to_start_and_follows_it(
    calendars: Calendars, ics: IcsServer
) -> None:
    services, service = calendars.services, calendars.calendars
    feed = Feed(now())
    ics.publish(feed.text())
    team = await room_on(services, "team", ics.url)
    assert await service.sweep() == 1  # synced, then the event starting in 5 minutes gets its meeting
    assert await service.sweep() == 0  # once
    [meeting] = await services.meetings.active(team)
    event = next(e for e in await service.events(team, owner=True) if e.ics_uid == "soon")
    assert meeting.calendar_event_id == event.id and meeting.end_date == event.end_time
    assert meeting.calendar_metadata is not None and meeting.calendar_metadata["title"] == "soon meeting"

    ics.publish(feed.text(soon_moved=True))  # moved to tomorrow while nobody is in it: its meeting closes
    await service.sync(await services.rooms.get(team.id), force=True)
    assert not (await services.meetings.get(meeting.id)).is_active


async def test_a_feed_on_a_private_address_is_refused_unless_allowed(calendars: Calendars, ics: IcsServer) -> None:
    services = calendars.services
    ics.publish(Feed(now()).text())
    team = await room_on(services, "team", ics.url)
    guarded = CalendarService(services.redis, services.meetings, CalendarHttp(), BASE)
    try:
        refused = await guarded.sync(team)
        assert refused.status == "error" and "not a public one" in (refused.error or "")
        assert ics.answers == []  # never asked
    finally:
        await guarded.close()
    unset = await services.rooms.update(team.id, RoomChanges(ics_url=None))
    assert (await calendars.calendars.sync(unset)).reason == "ICS not configured"


def test_a_google_feed_naming_its_zone_only_in_x_wr_timezone_is_read_in_that_zone() -> None:
    from reflector.domain.rooms.calendar import room_events

    google = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\n"
        "X-WR-TIMEZONE:America/New_York\n"
        f"BEGIN:VEVENT\nUID:g1\nDTSTAMP:20260101T000000Z\nSUMMARY:Sync\nDTSTART:20270105T090000\n"
        f"DTEND:20270105T093000\nLOCATION:{BASE}/team\nEND:VEVENT\nEND:VCALENDAR\n"
    ).replace("\n", "\r\n")
    window = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 10, tzinfo=UTC))
    [event], total = room_events(google.encode(), f"{BASE}/team", *window)
    assert total == 1 and event.start == datetime(2027, 1, 5, 14, 0, tzinfo=UTC)  # 09:00 in New York


@pytest.mark.parametrize(
    ("location", "theirs"),
    [
        (f"{BASE}/team", True),
        (f"Room: {BASE}/Team, floor 2", True),
        (f"{BASE}/team/", True),
        (f"{BASE}/team?join=1", True),
        (f"{BASE}/team-standup", False),
        (f"{BASE}/team_b", False),
        (f"{BASE}/teams", False),
        ("https://elsewhere.example/team", False),
    ],
)
def test_the_rooms_address_is_matched_as_a_whole(location: str, theirs: bool) -> None:
    from reflector.domain.rooms.calendar import room_pattern

    assert bool(room_pattern(f"{BASE}/team").search(location)) is theirs
