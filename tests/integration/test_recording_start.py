"""Daily recordings started by the server (the meetings sweep), never by an anonymous request: once someone is in
a recording room's call, its raw-tracks recording is started on the Daily fake with the meeting's id as the
instance, kept at once on the meeting by the id Daily returned, started once, and the ready webhook that
names that id lands on this meeting, pending."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import msgspec
import pytest

from reflector.bootstrap import Services, video_platforms
from reflector.domain.rooms.models import RoomSettings
from reflector.domain.rooms.service import MeetingService
from reflector.domain.rooms.tables import Recording
from reflector.platform_binding import close_platforms
from reflector.settings import PlatformSettings, Settings
from reflector.web.app import create_app
from tests.integration.test_room_recording import DAILY_SECRET
from tests.net import serve
from tests.platforms.conftest import daily  # noqa: F401 - fixture
from tests.platforms.daily_fake import FakeDaily


@pytest.fixture
async def on_daily(
    clean: Services,
    settings: Settings,
    daily: FakeDaily,  # noqa: F811
) -> AsyncIterator[Services]:
    platforms = PlatformSettings(
        daily_api_key=daily.api_key, daily_api_url=daily.api_url, daily_webhook_secret=DAILY_SECRET
    )
    configured = msgspec.structs.replace(settings, platforms=platforms)
    bound = video_platforms(configured)
    yield dataclasses.replace(clean, settings=configured, meetings=MeetingService(clean.redis, clean.rooms, bound))
    await close_platforms(bound)


async def recordings() -> list[dict[str, object]]:
    return await Recording.select(Recording.platform_recording_id, Recording.meeting_id, Recording.status)


async def test_a_recording_rooms_call_is_recorded_once_someone_is_in_it_and_its_recording_lands_on_it(
    on_daily: Services,
    daily: FakeDaily,  # noqa: F811
) -> None:
    services = on_daily
    async with serve(create_app(services.settings, services=services)) as base:
        await services.meetings.platforms["daily"].client.create_webhook(  # type: ignore[attr-defined]
            f"{base}/v1/daily/webhook", ["recording.ready-to-download"], hmac=DAILY_SECRET
        )
        room = await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
        meeting = await services.meetings.meeting_for(room)
        await services.meetings.lifecycle.sweep(force=True)
        assert daily.recordings == {} and await recordings() == []  # nobody in the call: Daily would refuse

        await daily.join(meeting.room_name, "Alice Martin", notify=False)
        await services.meetings.lifecycle.sweep(force=True)
        [(recording_id, started)] = daily.recordings.items()
        assert (started["_type"], started["_instance"], started["room_name"]) == (
            "raw-tracks", meeting.id, meeting.room_name
        )  # fmt: skip
        assert await recordings() == [
            {"platform_recording_id": recording_id, "meeting_id": meeting.id, "status": "recording"}
        ]
        await services.meetings.lifecycle.sweep(force=True)  # being made: not started again
        assert len(daily.recordings) == 1

        # Another meeting of the same room on the platform at the same time: the recording is matched by its id.
        await services.meetings.meeting_for(room, allow_duplicated=True)
        await daily.finish_recording(recording_id, [{"type": "audio", "s3Key": "d/r/1-p-cam-audio-2", "size": 1}])
        for _ in range(50):
            if (await recordings())[0]["status"] != "recording":
                break
            await asyncio.sleep(0.1)
    assert await recordings() == [
        {"platform_recording_id": recording_id, "meeting_id": meeting.id, "status": "pending"}
    ]


async def test_a_room_that_does_not_record_starts_no_recording(
    on_daily: Services,
    daily: FakeDaily,  # noqa: F811
) -> None:
    services = on_daily
    room = await services.rooms.create("alice", RoomSettings(name="Chat", platform="daily", recording_type="none"))
    meeting = await services.meetings.meeting_for(room)
    await daily.join(meeting.room_name, "Alice Martin", notify=False)
    await services.meetings.lifecycle.sweep(force=True)
    assert daily.recordings == {} and await recordings() == []


async def test_a_recording_daily_could_not_make_lets_the_next_sweep_start_another(
    on_daily: Services,
    daily: FakeDaily,  # noqa: F811
) -> None:
    services = on_daily
    async with serve(create_app(services.settings, services=services)) as base:
        await services.meetings.platforms["daily"].client.create_webhook(  # type: ignore[attr-defined]
            f"{base}/v1/daily/webhook", ["recording.error"], hmac=DAILY_SECRET
        )
        room = await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
        meeting = await services.meetings.meeting_for(room)
        await daily.join(meeting.room_name, "Alice Martin", notify=False)
        await services.meetings.lifecycle.sweep(force=True)
        [(first, started)] = daily.recordings.items()

        started["status"] = "finished"  # Daily gave up on it, and says so with its instance (the meeting)
        error = {"action": "recording-error", "error_msg": "Recording stopped: storage unreachable",
                 "instance_id": meeting.id, "room_name": meeting.room_name, "timestamp": 1780000000}  # fmt: skip
        await daily.deliver("recording.error", error)
        assert daily.deliveries == [("recording.error", 200)]
        assert await recordings() == [{"platform_recording_id": first, "meeting_id": meeting.id, "status": "ignored"}]

        await services.meetings.lifecycle.sweep(force=True)  # Alice is still in the call
        [second] = [r for r in daily.recordings if r != first]
        assert sorted(await recordings(), key=lambda r: r["platform_recording_id"] != first) == [
            {"platform_recording_id": first, "meeting_id": meeting.id, "status": "ignored"},
            {"platform_recording_id": second, "meeting_id": meeting.id, "status": "recording"},
        ]
