"""A room's meeting opened on each video platform through the bound clients (reflector.platform_binding),
with the settings pointing the production clients at the local fakes of Daily, Whereby and LiveKit."""

import dataclasses
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from reflector.bootstrap import Services, video_platforms
from reflector.domain.auth.models import Caller
from reflector.domain.rooms.models import RoomSettings
from reflector.domain.rooms.service import MeetingService
from reflector.platform_binding import close_platforms
from reflector.settings import PlatformSettings, Settings
from reflector.web.app import create_app
from tests.platforms.conftest import daily, livekit, whereby  # noqa: F401 - fixtures
from tests.platforms.daily_fake import FakeDaily
from tests.platforms.livekit_fake import FakeLiveKit
from tests.platforms.whereby_fake import FakeWhereby


def on_fakes(settings: Settings, fakes: tuple[FakeDaily, FakeWhereby, FakeLiveKit]) -> Settings:
    """The settings with every platform's client pointed at its fake."""
    on_daily, on_whereby, on_livekit = fakes
    platforms = PlatformSettings(
        daily_api_key=on_daily.api_key,
        daily_api_url=on_daily.api_url,
        whereby_api_key=on_whereby.api_key,
        whereby_api_url=on_whereby.api_url,
        livekit_url=on_livekit.base_url.replace("http://", "ws://"),
        livekit_api_key=on_livekit.api_key,
        livekit_api_secret=on_livekit.api_secret,
    )
    return msgspec.structs.replace(settings, platforms=platforms)


@pytest.fixture
async def services(
    clean: Services,
    settings: Settings,
    daily: FakeDaily,  # noqa: F811
    whereby: FakeWhereby,  # noqa: F811
    livekit: FakeLiveKit,  # noqa: F811
) -> AsyncIterator[Services]:
    platforms = video_platforms(on_fakes(settings, (daily, whereby, livekit)))
    yield dataclasses.replace(clean, meetings=MeetingService(clean.redis, clean.rooms, platforms))
    await close_platforms(platforms)


def test_each_configured_platform_is_bound_and_the_others_are_not(settings: Settings) -> None:
    assert video_platforms(settings) == {}
    only_whereby = msgspec.structs.replace(settings, platforms=PlatformSettings(whereby_api_key="k"))
    assert set(video_platforms(only_whereby)) == {"whereby"}


async def test_a_daily_meeting_is_a_daily_room_and_its_host_link_owns_the_call(
    services: Services,
    daily: FakeDaily,  # noqa: F811
) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily", is_locked=True))
    meeting = await services.meetings.meeting_for(room)

    opened = daily.rooms[meeting.room_name]
    assert meeting.room_name.startswith("stand-up-") and meeting.platform_id == opened["id"]
    assert meeting.room_url == opened["url"] and opened["privacy"] == "private"
    assert opened["config"]["exp"] == int(meeting.end_date.timestamp())
    assert meeting.host_room_url.startswith(f"{meeting.room_url}?t=")
    assert daily.tokens[-1]["is_owner"] is True
    assert daily.tokens[-1]["user_id"] == "alice" and daily.tokens[-1]["room_name"] == meeting.room_name
    # The second person joining gets the same meeting, not a second Daily room.
    assert (await services.meetings.meeting_for(room)).id == meeting.id and len(daily.rooms) == 1


async def test_meetings_of_one_room_opened_in_the_same_second_get_daily_rooms_of_their_own(
    services: Services,
    daily: FakeDaily,  # noqa: F811
) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
    opened = [await services.meetings.meeting_for(room, allow_duplicated=True) for _ in range(3)]
    assert len({m.room_name for m in opened}) == 3 and set(daily.rooms) == {m.room_name for m in opened}
    assert all(m.room_name.startswith("stand-up-") for m in opened)


async def test_a_daily_join_link_carries_a_token_of_the_person_joining(
    services: Services,
    daily: FakeDaily,  # noqa: F811
) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
    meeting = await services.meetings.meeting_for(room)
    bound = services.meetings.platforms["daily"]
    link = await bound.join_url(meeting.room_url, meeting.room_name, user_id="bob", name="Bob", owner=False)  # type: ignore[attr-defined]
    assert link.startswith(f"{meeting.room_url}?t=")
    assert daily.tokens[-1]["user_id"] == "bob" and not daily.tokens[-1].get("is_owner")
    assert await bound.present(meeting.room_name) == 0  # type: ignore[attr-defined]


async def test_a_whereby_meeting_has_whereby_links_and_the_rooms_settings(
    services: Services,
    whereby: FakeWhereby,  # noqa: F811
) -> None:
    settings = RoomSettings(name="Board", platform="whereby", is_locked=True, room_mode="group")
    room = await services.rooms.create("alice", settings)
    meeting = await services.meetings.meeting_for(room)

    opened = whereby.meetings[meeting.platform_id]
    assert meeting.room_url == opened["roomUrl"] and meeting.host_room_url == opened["hostRoomUrl"]
    assert meeting.room_name == opened["roomName"] and meeting.room_name.startswith("/board")
    sent = whereby.requested[-1]
    assert sent["isLocked"] is True and sent["roomMode"] == "group" and sent["fields"] == ["hostRoomUrl"]


async def test_a_livekit_meeting_is_a_livekit_room_and_every_join_a_new_identity(
    services: Services,
    livekit: FakeLiveKit,  # noqa: F811
) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="Ops", platform="livekit"))
    meeting = await services.meetings.meeting_for(room)

    assert meeting.room_name in livekit.rooms and meeting.platform_id == livekit.rooms[meeting.room_name]["sid"]
    bound = services.meetings.platforms["livekit"]
    links = [
        await bound.join_url(meeting.room_url, meeting.room_name, user_id=None, name="Ana", owner=False)  # type: ignore[attr-defined]
        for _ in range(2)
    ]
    key = OctKey.import_key(livekit.api_secret)
    tokens = [parse_qs(urlsplit(link).query)["token"][0] for link in [*links, meeting.host_room_url]]
    claims = [jwt.decode(token, key).claims for token in tokens]
    identities = {c["sub"] for c in claims}
    assert len(identities) == 3 and all(c["video"]["room"] == meeting.room_name for c in claims)
    assert parse_qs(urlsplit(meeting.room_url).query)["room"] == [meeting.room_name]
    livekit.join(meeting.room_name, claims[0]["sub"], "Ana")
    assert await bound.present(meeting.room_name) == 1  # type: ignore[attr-defined]


async def test_joining_gives_each_person_their_own_link(
    services: Services,
    daily: FakeDaily,  # noqa: F811
    livekit: FakeLiveKit,  # noqa: F811
) -> None:
    alice, bob, anyone = Caller("alice", via="token"), Caller("bob", via="token", name="Bob"), Caller(None)
    room = await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
    meeting = await services.meetings.meeting_for(room)

    as_bob = await services.meetings.join(room, meeting.id, bob, None)
    assert as_bob.room_url.startswith(f"{meeting.room_url}?t=")
    assert daily.tokens[-1]["user_id"] == "bob" and daily.tokens[-1]["user_name"] == "Bob"
    assert not daily.tokens[-1].get("is_owner")
    await services.meetings.join(room, meeting.id, alice, None)
    assert daily.tokens[-1]["user_id"] == "alice" and daily.tokens[-1]["is_owner"] is True
    asked = len(daily.tokens)
    assert (await services.meetings.join(room, meeting.id, anyone, None)).room_url == meeting.room_url  # Reflector
    assert len(daily.tokens) == asked

    lk_room = await services.rooms.create("alice", RoomSettings(name="Ops", platform="livekit"))
    lk_meeting = await services.meetings.meeting_for(lk_room)
    key = OctKey.import_key(livekit.api_secret)
    joins = [await services.meetings.join(lk_room, lk_meeting.id, anyone, "Ana") for _ in range(2)]
    claims = [jwt.decode(parse_qs(urlsplit(j.room_url).query)["token"][0], key).claims for j in joins]
    assert [c["name"] for c in claims] == ["Ana", "Ana"] and claims[0]["sub"] != claims[1]["sub"]


async def test_a_platform_that_refuses_is_a_502_with_a_sentence(
    services: Services,
    settings: Settings,
    daily: FakeDaily,  # noqa: F811
) -> None:
    wrong_key = PlatformSettings(daily_api_key="not-the-key", daily_api_url=daily.api_url)
    platforms = video_platforms(msgspec.structs.replace(settings, platforms=wrong_key))
    services = dataclasses.replace(services, meetings=MeetingService(services.redis, services.rooms, platforms))
    try:
        room = await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
        app = create_app(settings, services=services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            answer = await client.post(f"/v1/rooms/{room.name}/meeting", json={})
        assert answer.status_code == 502
        assert answer.json() == {"detail": "Daily could not open the meeting just now: try again in a minute"}
        assert await services.meetings.active(room) == []
    finally:
        await close_platforms(platforms)
