"""Liveness and readiness: /health always answers; /health/ready names what is down."""

import asyncio
import dataclasses
import os
import socket

import httpx
from redis.asyncio import Redis

from reflector.bootstrap import Services
from reflector.domain.health import LIVE, WorkerBeat, announce_worker, captions_available, retire_worker
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.net import free_port

_BEAT = WorkerBeat(host=socket.gethostname(), pid=os.getpid(), queues=["reflector:speech"])


async def test_liveness_is_reflectors(api: httpx.AsyncClient) -> None:
    response = await api.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "healthy"})


async def test_ready_with_a_live_worker(clean: Services, api: httpx.AsyncClient) -> None:
    await announce_worker(clean.redis, _BEAT, ttl_s=10)

    response = await api.get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready" and "detail" not in body
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "up",
        "redis": "up",
        "storage": "up",
        "worker": "up",
    }


async def test_unavailable_without_a_worker_heartbeat(clean: Services, api: httpx.AsyncClient) -> None:
    await announce_worker(clean.redis, _BEAT, ttl_s=10)
    await retire_worker(clean.redis, _BEAT)

    response = await api.get("/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and "worker" in body["detail"] and "redis" not in body["detail"]
    assert body["checks"]["worker"] == {
        "status": "down",
        "ms": body["checks"]["worker"]["ms"],
        "error": "no worker heartbeat",
    }
    assert body["checks"]["database"]["status"] == "up"


async def test_the_live_worker_alone_does_not_make_the_deployment_ready(
    clean: Services, api: httpx.AsyncClient
) -> None:
    live = WorkerBeat(host=socket.gethostname(), pid=os.getpid() + 1, queues=[LIVE])
    await announce_worker(clean.redis, live, ttl_s=10)
    # It captions recordings; it takes no pipeline job, so uploads would wait for ever.
    assert await captions_available(clean.redis)
    assert (await api.get("/health/ready")).status_code == 503
    await announce_worker(clean.redis, _BEAT, ttl_s=10)
    assert (await api.get("/health/ready")).status_code == 200
    await retire_worker(clean.redis, live)
    assert not await captions_available(clean.redis)


async def test_an_expired_heartbeat_does_not_count(clean: Services, api: httpx.AsyncClient) -> None:
    await announce_worker(clean.redis, _BEAT, ttl_s=0.05)
    await asyncio.sleep(0.2)

    assert (await api.get("/health/ready")).status_code == 503


async def _with_redis(clean: Services, settings: Settings, url: str) -> httpx.Response:
    """/health/ready of an app whose Redis is at `url`."""
    redis = Redis.from_url(url)
    app = create_app(settings, services=dataclasses.replace(clean, redis=redis))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            return await client.get("/health/ready")
    finally:
        await redis.aclose()


async def test_unavailable_naming_redis_when_it_is_down(clean: Services, settings: Settings) -> None:
    response = await _with_redis(clean, settings, f"redis://127.0.0.1:{free_port()}/0")

    assert response.status_code == 503
    body = response.json()
    assert "redis" in body["detail"]
    assert body["checks"]["redis"]["status"] == "down" and body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["status"] == "up" and body["checks"]["storage"]["status"] == "up"


async def test_a_hung_redis_cannot_hang_the_probe(clean: Services, settings: Settings) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accept, never answer

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = asyncio.get_running_loop().time()
        response = await _with_redis(clean, settings, f"redis://127.0.0.1:{port}/0")
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        server.close()

    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["error"] == "no answer within 2 s"
    assert elapsed < 3
