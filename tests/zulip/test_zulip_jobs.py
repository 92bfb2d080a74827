"""A room's automatic Zulip posts are a worker's jobs (`reflector worker --queues webhooks`, a real process),
retried while Zulip is away: a failed run's notice reaches the fake Zulip on 127.0.0.1 after a 503."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reflector.bootstrap import Services
from reflector.domain.rooms.models import RoomSettings
from tests.integration.workers import WorkerProcess
from tests.zulip.test_zulip_sharing import end_run, finished_transcript
from tests.zulip.zulip_fake import API_KEY, BOT_EMAIL, FakeZulip


@pytest.fixture
async def worker(
    services: Services,
    settings,
    zulip: FakeZulip,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> AsyncIterator[WorkerProcess]:
    env = {
        "ZULIP_URL": zulip.base_url,
        "ZULIP_BOT_EMAIL": BOT_EMAIL,
        "ZULIP_API_KEY": API_KEY,
        "ZULIP_RETRY_SCHEDULE": "0.3,0.3",
    }
    process = WorkerProcess(settings, tmp_path / "worker.log", "webhooks", env=env)
    process.start()
    await process.serving(services, "reflector:webhooks")
    yield process
    process.stop()


async def _posted(zulip: FakeZulip, count: int, within_s: float = 60) -> None:
    deadline = time.monotonic() + within_s
    while len(zulip.messages) < count:
        assert time.monotonic() < deadline, f"Zulip got {len(zulip.messages)} messages, expected {count}"
        await asyncio.sleep(0.1)


async def test_a_failed_runs_notice_is_retried_until_zulip_takes_it(
    posting: Services, zulip: FakeZulip, worker: WorkerProcess
) -> None:
    room = await posting.rooms.create(
        "owner-1",
        RoomSettings(name="Ops", platform="daily", zulip_auto_post=True, zulip_stream="meetings", zulip_topic="ops"),
    )
    failed = await finished_transcript(posting, room.id)
    zulip.outages = 1  # its first attempt is answered 503

    await end_run(posting, failed, ok=False)
    await _posted(zulip, 1)

    (notice,) = zulip.messages.values()
    assert (notice.stream, notice.topic) == ("meetings", "ops")
    assert "**Processing failed**: The recording has no audio track." in notice.content
    sends = [r for r in zulip.requests if r.method == "POST" and r.path == "/api/v1/messages"]
    assert len(sends) == 2  # the 503, then the retry
    assert "zulip.retrying" in worker.log() and "zulip.auto_post_failed" not in worker.log()
