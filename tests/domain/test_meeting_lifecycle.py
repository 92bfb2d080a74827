"""A meeting's life after it opens, against the real PostgreSQL and Redis and the local fakes of Daily, Whereby
and LiveKit: the periodic sweep asks each platform who is in a meeting (so a lost webhook neither leaves a
meeting open for ever nor closes an occupied one), extends a meeting still in use near its end (on the
platform too), and closes one empty for 30 minutes or past its end; the rules themselves, one by one."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import msgspec
import pytest

from reflector.bootstrap import Services, video_platforms
from reflector.domain.ids import now
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.lifecycle import MeetingPolicy, reusable, verdict
from reflector.domain.rooms.models import MeetingView, RoomSettings
from reflector.domain.rooms.service import MeetingService
from reflector.platform_binding import close_platforms
from reflector.settings import PlatformSettings, Settings
from tests.integration.test_room_platforms import on_fakes
from tests.platforms.conftest import daily, livekit, whereby  # noqa: F401 - fixtures
from tests.platforms.daily_fake import FakeDaily
from tests.platforms.livekit_fake import FakeLiveKit
from tests.platforms.whereby_fake import FakeWhereby

POLICY = MeetingPolicy()
AT = datetime.fromisoformat("2026-12-06T12:00:00+00:00")


def meeting(*, clients: int = 0, empty_min: float | None = None, ends_in_min: float = 60, scheduled: bool = False):
    """A meeting as the rules see it at AT: who is in it, for how long it has been empty, when it ends."""
    return MeetingView(
        id="m",
        room_id="r",
        platform="daily",
        platform_id="p",
        room_name="team-1",
        room_url="",
        host_room_url="",
        start_date=AT - timedelta(hours=2),
        end_date=AT + timedelta(minutes=ends_in_min),
        is_locked=False,
        room_mode="normal",
        recording_type="cloud",
        recording_trigger="none",
        store_video=False,
        num_clients=clients,
        is_active=True,
        calendar_event_id="event-1" if scheduled else None,
        calendar_metadata=None,
        daily_composed_video_s3_key=None,
        daily_composed_video_duration=None,
        empty_since=None if empty_min is None else AT - timedelta(minutes=empty_min),
    )


@pytest.mark.parametrize(
    ("case", "confirmed", "expected"),
    [
        (meeting(clients=2, ends_in_min=120), True, "keep"),
        (meeting(clients=2, ends_in_min=20), True, "extend"),  # in use near its end: the lease is extended
        (meeting(clients=2, ends_in_min=-5), True, "extend"),
        (meeting(clients=2, ends_in_min=20), False, "keep"),  # only the webhooks' word: not extended
        (meeting(clients=2, ends_in_min=-31), False, "close"),  # ... nor believed for ever past the end
        (meeting(empty_min=29), True, "keep"),
        (meeting(empty_min=31), True, "close"),  # empty for 30 minutes
        (meeting(empty_min=31, scheduled=True), True, "keep"),  # a calendar meeting waits for its end
        (meeting(empty_min=1, ends_in_min=-5), True, "keep"),  # past its end, but just emptied: the grace
        (meeting(empty_min=3, ends_in_min=-5), True, "close"),
        (meeting(empty_min=3, ends_in_min=-5, scheduled=True), True, "close"),
    ],
)
def test_the_rules(case: MeetingView, confirmed: bool, expected: str) -> None:
    assert verdict(case, AT, POLICY, confirmed=confirmed) == expected


def test_a_joiner_is_sent_into_a_meeting_past_its_end_only_while_it_is_used_or_just_emptied() -> None:
    assert reusable(meeting(empty_min=40), AT, POLICY)  # before its end (the sweep closes it, not a join)
    assert reusable(meeting(clients=1, ends_in_min=-5), AT, POLICY)
    assert reusable(meeting(empty_min=1, ends_in_min=-5), AT, POLICY)
    assert not reusable(meeting(empty_min=3, ends_in_min=-5), AT, POLICY)


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


async def current(meeting_id: str) -> MeetingView:
    found = await rooms_table.get_meeting(meeting_id)
    assert found is not None
    return found


async def shift(meeting_id: str, *, ends_in: timedelta | None = None, empty_for: timedelta | None = None) -> None:
    """Time passes for the meeting: its end comes nearer, or it has been empty for longer."""
    values: dict[str, datetime] = {}
    if ends_in is not None:
        values["end_date"] = now() + ends_in
    if empty_for is not None:
        values["empty_since"] = now() - empty_for
    await rooms_table.update_meeting(meeting_id, values)


async def test_a_lost_join_webhook_neither_closes_nor_lets_expire_a_daily_meeting_in_use(
    services: Services,
    daily: FakeDaily,  # noqa: F811
) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
    opened = await services.meetings.meeting_for(room)
    await daily.join(opened.room_name, "Ana", notify=False)  # Daily's participant.joined never arrived
    await shift(opened.id, ends_in=timedelta(minutes=10), empty_for=timedelta(hours=1))

    report = await services.meetings.sweep(force=True)
    after = await current(opened.id)
    assert (report.polled, report.extended, report.closed) == (1, 1, 0)
    assert after.is_active and after.num_clients == 1 and after.empty_since is None
    assert after.end_date - now() > timedelta(minutes=55)  # extended by an hour
    assert daily.rooms[opened.room_name]["config"]["exp"] == int(after.end_date.timestamp())  # on Daily too


async def test_a_lost_leave_webhook_does_not_leave_a_meeting_open_for_ever(
    services: Services,
    daily: FakeDaily,  # noqa: F811
) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
    opened = await services.meetings.meeting_for(room)
    session = await daily.join(opened.room_name, "Ana", notify=False)
    await rooms_table.set_clients(opened.id, count=1, delta=0)
    await daily.leave(opened.room_name, session, notify=False)  # participant.left lost too

    await services.meetings.sweep(force=True)
    emptied = await current(opened.id)
    assert emptied.is_active and emptied.num_clients == 0 and emptied.empty_since is not None
    await shift(opened.id, empty_for=timedelta(minutes=29))
    assert (await services.meetings.sweep(force=True)).closed == 0
    await shift(opened.id, empty_for=timedelta(minutes=31))
    assert (await services.meetings.sweep(force=True)).closed == 1
    assert not (await current(opened.id)).is_active
    assert (await services.meetings.meeting_for(room)).id != opened.id  # the next joiner: a new meeting


async def test_a_meeting_nobody_joined_is_closed_after_30_minutes_and_one_past_its_end_after_the_grace(
    services: Services,
) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
    unused = await services.meetings.meeting_for(room)
    await shift(unused.id, empty_for=timedelta(minutes=31))
    ended = await services.meetings.meeting_for(
        await services.rooms.create("alice", RoomSettings(name="Review", platform="daily"))
    )
    await shift(ended.id, ends_in=timedelta(minutes=-1), empty_for=timedelta(minutes=1))

    assert (await services.meetings.sweep(force=True)).closed == 1
    assert not (await current(unused.id)).is_active and (await current(ended.id)).is_active  # in its grace
    await shift(ended.id, empty_for=timedelta(minutes=3))
    assert (await services.meetings.sweep(force=True)).closed == 1
    assert not (await current(ended.id)).is_active


async def test_whereby_presence_comes_from_its_room_sessions(
    services: Services,
    whereby: FakeWhereby,  # noqa: F811
) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="Board", platform="whereby"))
    opened = await services.meetings.meeting_for(room)
    await whereby.join(opened.platform_id, "Zoë")  # no webhook URL set: Whereby's webhooks never come
    await whereby.join(opened.platform_id, "Ana")
    await shift(opened.id, empty_for=timedelta(hours=1))

    await services.meetings.sweep(force=True)
    assert (await current(opened.id)).num_clients == 1  # occupied: Whereby's sessions do not say how many
    await rooms_table.set_clients(opened.id, count=2, delta=0)  # what a webhook said
    await services.meetings.sweep(force=True)
    assert (await current(opened.id)).num_clients == 2  # kept
    await whereby.leave(opened.platform_id, "Zoë")
    await whereby.leave(opened.platform_id, "Ana")
    await services.meetings.sweep(force=True)
    assert (await current(opened.id)).num_clients == 0


async def test_livekit_presence_is_its_participants_and_a_room_it_removed_is_empty(
    services: Services,
    livekit: FakeLiveKit,  # noqa: F811
) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="Ops", platform="livekit"))
    opened = await services.meetings.meeting_for(room)
    livekit.join(opened.room_name, "ana-1", "Ana")
    await services.meetings.sweep(force=True)
    assert (await current(opened.id)).num_clients == 1
    livekit.leave(opened.room_name, "ana-1")
    livekit.rooms.pop(opened.room_name)  # its empty_timeout passed: LiveKit answers not_found
    await services.meetings.sweep(force=True)
    gone = await current(opened.id)
    assert gone.num_clients == 0 and gone.is_active


async def test_a_platform_that_does_not_answer_closes_nothing_until_long_past_the_end(
    services: Services,
    settings: Settings,
    daily: FakeDaily,  # noqa: F811
) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
    opened = await services.meetings.meeting_for(room)
    await rooms_table.set_clients(opened.id, count=1, delta=0)  # the webhooks say Ana is there
    unreachable = PlatformSettings(daily_api_key="not-the-key", daily_api_url=daily.api_url)
    platforms = video_platforms(msgspec.structs.replace(settings, platforms=unreachable))
    try:
        blind = MeetingService(services.redis, services.rooms, platforms)
        await shift(opened.id, ends_in=timedelta(minutes=-20))
        report = await blind.sweep(force=True)
        assert (report.polled, report.closed) == (0, 0) and (await current(opened.id)).num_clients == 1
        await shift(opened.id, ends_in=timedelta(minutes=-31))
        assert (await blind.sweep(force=True)).closed == 1
    finally:
        await close_platforms(platforms)


async def test_one_sweep_at_a_time_whichever_worker(services: Services) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
    await services.meetings.meeting_for(room)
    await services.redis.delete("rooms:meetings_swept")
    reports = await asyncio.gather(*(services.meetings.sweep() for _ in range(3)))
    assert sorted(r.skipped for r in reports) == [False, True, True]
    assert sum(r.meetings for r in reports) == 1
