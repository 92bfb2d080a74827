"""The meetings' periodic sweep as a real `reflector worker` process runs it (its reaper loop), configured by
its environment and talking to the Daily fake: a participant whose join webhook was lost is found by the
worker's poll of Daily's presence, and a meeting empty for longer than MEETING_EMPTY_CLOSE_S is closed."""

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from reflector.bootstrap import Services, video_platforms
from reflector.domain.ids import now
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.models import MeetingView, RoomSettings
from reflector.domain.rooms.service import MeetingService
from reflector.platform_binding import close_platforms
from reflector.settings import PlatformSettings, Settings
from tests.integration.workers import WorkerProcess
from tests.platforms.conftest import daily  # noqa: F401 - fixture
from tests.platforms.daily_fake import FakeDaily


@pytest.fixture
async def on_daily(clean: Services, settings: Settings, daily: FakeDaily) -> AsyncIterator[Services]:  # noqa: F811
    platforms = PlatformSettings(daily_api_key=daily.api_key, daily_api_url=daily.api_url)
    bound = video_platforms(msgspec.structs.replace(settings, platforms=platforms))
    yield dataclasses.replace(clean, meetings=MeetingService(clean.redis, clean.rooms, bound))
    await close_platforms(bound)


async def until(meeting_id: str, worker: WorkerProcess, done: str, within_s: float = 60) -> MeetingView:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        meeting = await rooms_table.get_meeting(meeting_id)
        assert meeting is not None
        if (done == "occupied" and meeting.num_clients == 1) or (done == "closed" and not meeting.is_active):
            return meeting
        assert worker.process is not None and worker.process.poll() is None, worker.log()[-3000:]
        await asyncio.sleep(0.3)
    raise TimeoutError(f"the worker's sweep did not find the meeting {done}: {worker.log()[-3000:]}")


async def test_the_workers_sweep_polls_the_platform_and_closes_empty_meetings(
    on_daily: Services,
    daily: FakeDaily,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    services = on_daily
    used = await services.meetings.meeting_for(
        await services.rooms.create("alice", RoomSettings(name="Stand-up", platform="daily"))
    )
    await daily.join(used.room_name, "Ana", notify=False)  # Daily's participant.joined never arrived
    empty = await services.meetings.meeting_for(
        await services.rooms.create("alice", RoomSettings(name="Review", platform="daily"))
    )
    await rooms_table.update_meeting(empty.id, {"empty_since": now() - timedelta(minutes=31)})

    env = {"DAILY_API_KEY": daily.api_key, "DAILY_API_URL": daily.api_url, "MEETING_EMPTY_CLOSE_S": "1800"}
    worker = WorkerProcess(settings, tmp_path / "worker.log", queues="llm", env=env).start()
    try:
        assert (await until(used.id, worker, "occupied")).is_active
        await until(empty.id, worker, "closed")
    finally:
        worker.stop()
    assert await services.redis.get("rooms:periodic:meetings") is not None  # seen in /metrics
