"""A room's calendar through HTTP (Reflector's /ics/sync, /ics/status, /meetings, /meetings/upcoming): the
owner syncs and reads the status, anyone lists the events without their descriptions and attendees."""

import dataclasses
from collections.abc import AsyncIterator, Iterator

import httpx
import msgspec
import pytest

from reflector.adapters.calendar_http import CalendarHttp
from reflector.bootstrap import Services
from reflector.domain.ids import now
from reflector.domain.rooms.calendar_sync import CalendarService
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.api.test_rooms import _key_of
from tests.domain.test_calendar import BASE, Feed, IcsServer
from tests.meeting_platform import RecordingPlatform, with_platform
from tests.platforms.fake_server import Served


@pytest.fixture
def ics() -> Iterator[IcsServer]:
    server = IcsServer()
    served = Served(server).start()
    try:
        yield server
    finally:
        served.stop()


@dataclasses.dataclass
class Callers:
    http: httpx.AsyncClient
    owner: dict[str, str]
    other: dict[str, str]


@pytest.fixture
async def callers(clean: Services, settings: Settings) -> AsyncIterator[Callers]:
    accounts = msgspec.structs.replace(
        settings, auth=msgspec.structs.replace(settings.auth, backend="oidc", secret_key="x" * 32)
    )
    services = with_platform(clean, RecordingPlatform())
    calendars = CalendarService(services.redis, services.meetings, CalendarHttp(allow_private=True), BASE)
    services = dataclasses.replace(services, calendars=calendars)
    transport = httpx.ASGITransport(app=create_app(accounts, services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        yield Callers(http, await _key_of(clean, "owner@example.org"), await _key_of(clean, "other@example.org"))
    await calendars.close()


async def test_the_owner_syncs_and_anyone_sees_the_events(callers: Callers, ics: IcsServer) -> None:
    http = callers.http
    ics.publish(Feed(now()).text())
    room = {"name": "team", "platform": "daily", "is_shared": True}
    assert (await http.post("/v1/rooms", json=room, headers=callers.owner)).status_code == 200
    unset = await http.post("/v1/rooms/team/ics/sync", headers=callers.owner)
    assert unset.status_code == 400 and "ICS not configured" in unset.json()["detail"]
    room_id = (await http.get("/v1/rooms/name/team", headers=callers.owner)).json()["id"]
    calendar = {"ics_url": ics.url, "ics_enabled": True}
    assert (await http.patch(f"/v1/rooms/{room_id}", json=calendar, headers=callers.owner)).status_code == 200

    assert (await http.post("/v1/rooms/team/ics/sync", headers=callers.other)).status_code == 403
    assert (await http.post("/v1/rooms/team/ics/sync")).status_code == 401
    synced = await http.post("/v1/rooms/team/ics/sync", headers=callers.owner)
    assert synced.status_code == 200, synced.text
    body = synced.json()
    assert body["status"] == "success" and body["events_found"] == body["events_created"] == 9
    assert (await http.post("/v1/rooms/team/ics/sync", headers=callers.owner)).json()["status"] == "unchanged"
    status = (await http.get("/v1/rooms/team/ics/status", headers=callers.owner)).json()
    assert status["status"] == "enabled" and status["events_count"] == 9 and status["last_etag"] == '"v1"'
    assert status["next_sync"] is not None
    assert (await http.get("/v1/rooms/team/ics/status", headers=callers.other)).status_code == 403

    mine = (await http.get("/v1/rooms/team/meetings", headers=callers.owner)).json()
    theirs = (await http.get("/v1/rooms/team/meetings", headers=callers.other)).json()
    assert len(mine) == len(theirs) == 9
    assert mine[0]["description"] and mine[0]["attendees"]
    assert theirs[0]["description"] is None and theirs[0]["attendees"] is None
    upcoming = (await http.get("/v1/rooms/team/meetings/upcoming", params={"minutes_ahead": 60})).json()
    assert [e["ics_uid"] for e in upcoming] == ["soon"]
    # The sync opened the meeting of the event about to start.
    active = (await http.get("/v1/rooms/team/meetings/active")).json()
    assert len(active) == 1 and active[0]["calendar_event_id"] == upcoming[0]["id"]
    assert (await http.get("/v1/rooms/team/meetings/upcoming", params={"minutes_ahead": 0})).status_code == 422
