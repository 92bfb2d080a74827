"""Reflector #436, people split between two platform rooms by a quick leave and rejoin, reproduced through
the API and Daily's webhooks: Ana and Bob in a room's meeting at the end of its lease; both drop out (Daily
sends participant.left for each); the workers sweep; Ana comes back through the room's page
(`POST /v1/rooms/{name}/meeting`, then join) while Bob's call reconnects to the Daily room it was in, as
Daily's client does after a network drop. Within the join grace both are in the same Daily room (the meeting
reused and extended, on Daily too); without it (grace 0, Reflector's behaviour) the sweep closes the meeting
and Ana is sent into a second Daily room, away from Bob, which shows the test reproduces the race. After the
grace an empty meeting past its end is closed and the next joiner gets a new one."""

import base64
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import msgspec
import pytest

from reflector.bootstrap import Services, video_platforms
from reflector.domain.ids import now
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.lifecycle import MeetingPolicy
from reflector.domain.rooms.models import RoomSettings
from reflector.domain.rooms.service import MeetingService
from reflector.platform_binding import close_platforms
from reflector.settings import PlatformSettings, Settings
from reflector.web.app import create_app
from tests.net import serve
from tests.platforms.conftest import daily  # noqa: F401 - fixture
from tests.platforms.daily_fake import FakeDaily

DAILY_SECRET = base64.b64encode(b"daily-webhook-secret-32-bytes!!!").decode()


class Call(msgspec.Struct):
    """The app served on a loopback port with Daily's webhook pointed at it, and a client of it."""

    services: Services
    client: httpx.AsyncClient
    daily: FakeDaily


async def calling(clean: Services, settings: Settings, daily: FakeDaily, grace_s: float) -> AsyncIterator[Call]:  # noqa: F811
    platforms = PlatformSettings(
        daily_api_key=daily.api_key, daily_api_url=daily.api_url, daily_webhook_secret=DAILY_SECRET
    )
    configured = msgspec.structs.replace(settings, platforms=platforms)
    bound = video_platforms(configured)
    meetings = MeetingService(clean.redis, clean.rooms, bound)
    meetings.lifecycle.policy = MeetingPolicy(join_grace_s=grace_s)
    services = dataclasses.replace(clean, settings=configured, meetings=meetings)
    try:
        async with serve(create_app(configured, services=services)) as base:
            await bound["daily"].client.create_webhook(  # type: ignore[attr-defined]
                f"{base}/v1/daily/webhook", ["participant.joined", "participant.left"], hmac=DAILY_SECRET
            )
            async with httpx.AsyncClient(base_url=base) as client:
                yield Call(services, client, daily)
    finally:
        await close_platforms(bound)


@pytest.fixture
async def with_grace(clean: Services, settings: Settings, daily: FakeDaily) -> AsyncIterator[Call]:  # noqa: F811
    async for call in calling(clean, settings, daily, MeetingPolicy().join_grace_s):
        yield call


@pytest.fixture
async def without_grace(clean: Services, settings: Settings, daily: FakeDaily) -> AsyncIterator[Call]:  # noqa: F811
    async for call in calling(clean, settings, daily, 0):
        yield call


async def enter(call: Call, room_name: str, who: str) -> tuple[str, str]:
    """What a person's page does: the room's meeting asked of the API, joined there, then the call entered on
    Daily (whose participant.joined comes back signed to the webhook route). Their Daily room and session."""
    meeting = (await call.client.post(f"/v1/rooms/{room_name}/meeting", json={})).json()
    joined = await call.client.post(f"/v1/rooms/{room_name}/meetings/{meeting['id']}/join")
    assert joined.status_code == 200, joined.text
    session = await call.daily.join(meeting["room_name"], who)
    return meeting["room_name"], session


async def counted(call: Call, meeting_id: str) -> int:
    return (await call.services.meetings.get(meeting_id)).num_clients


async def leave_and_rejoin_at_the_end_of_the_lease(call: Call) -> tuple[str, str, str]:
    """Ana and Bob in the meeting; its end comes; both drop out; the workers sweep; both come back. The
    Daily room they were in, the one Ana is sent to, and the one Bob's call reconnects to."""
    room = await call.services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
    first, ana = await enter(call, room.name, "Ana")
    _, bob = await enter(call, room.name, "Bob")
    meeting = await rooms_table.meeting_on_platform("daily", room_name=first, platform_id=None)
    assert meeting is not None and await counted(call, meeting.id) == 2  # the webhooks counted them
    await rooms_table.update_meeting(meeting.id, {"end_date": now() - timedelta(seconds=1)})  # 8 hours on

    await call.daily.leave(first, ana)
    await call.daily.leave(first, bob)
    assert await counted(call, meeting.id) == 0
    await call.services.meetings.sweep(force=True)  # the workers' periodic sweep, between leave and rejoin
    ana_room, _ = await enter(call, room.name, "Ana")
    await call.daily.join(first, "Bob")  # Bob's call reconnects where it was
    return first, ana_room, first


async def test_a_quick_leave_and_rejoin_lands_everyone_in_the_same_platform_room(with_grace: Call) -> None:
    first, ana, bob = await leave_and_rejoin_at_the_end_of_the_lease(with_grace)
    assert ana == bob == first
    assert list(with_grace.daily.rooms) == [first]  # no second Daily room was opened
    assert [p["userName"] for p in with_grace.daily.presence[first]] == ["Ana", "Bob"]
    meeting = await rooms_table.meeting_on_platform("daily", room_name=first, platform_id=None)
    assert meeting is not None and meeting.is_active and meeting.num_clients == 2
    assert meeting.end_date > now() + timedelta(minutes=55)  # the meeting was extended, and its Daily room
    assert with_grace.daily.rooms[first]["config"]["exp"] == int(meeting.end_date.timestamp())


async def test_without_the_grace_the_same_sequence_splits_the_room(without_grace: Call) -> None:
    first, ana, bob = await leave_and_rejoin_at_the_end_of_the_lease(without_grace)
    assert ana != bob  # split: Ana alone in a second Daily room, Bob alone in the first
    assert len(without_grace.daily.rooms) == 2
    assert [p["userName"] for p in without_grace.daily.presence[ana]] == ["Ana"]
    assert [p["userName"] for p in without_grace.daily.presence[first]] == ["Bob"]


async def test_after_the_grace_an_empty_meeting_past_its_end_is_closed_and_replaced(with_grace: Call) -> None:
    call = with_grace
    room = await call.services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
    first, ana = await enter(call, room.name, "Ana")
    meeting = await rooms_table.meeting_on_platform("daily", room_name=first, platform_id=None)
    assert meeting is not None
    await call.daily.leave(first, ana)
    await rooms_table.update_meeting(
        meeting.id, {"end_date": now() - timedelta(minutes=5), "empty_since": now() - timedelta(minutes=3)}
    )
    assert (await call.services.meetings.sweep(force=True)).closed == 1
    assert (await enter(call, room.name, "Ana"))[0] != first
