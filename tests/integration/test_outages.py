"""PostgreSQL or Redis restarting under a running web process (issue 13, R3): while either is away the web
answers at once with 503 and a sentence, never a 500 and never a hang; once it is back, the same process
serves again. The servers are private ones (the embedded PostgreSQL and Redis of `reflector run`), so the
test can stop and start them."""

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from reflector.entrypoints.embedded import EmbeddedPostgres, EmbeddedRedis
from tests.net import free_port, until_serving
from tests.paths import REAL, REPO

START_TIMEOUT = 120.0
# An answer while a server is away must come at once: the connect timeout is 5 s.
ANSWER_WITHIN_S = 10.0


@dataclass
class Site:
    url: str
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis
    root: Path


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    postgres, redis = EmbeddedPostgres(tmp_path / "postgres"), EmbeddedRedis(tmp_path / "redis")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": await asyncio.to_thread(postgres.start),
        "REDIS_URL": await asyncio.to_thread(redis.start),
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "warning",
    }
    port = free_port()
    process: subprocess.Popen[bytes] | None = None
    site: Site | None = None
    try:
        await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "reflector", "migrate"], cwd=REPO, env=env, check=True
        )
        with tempfile.TemporaryFile() as stderr:
            command = [sys.executable, "-m", "reflector", "web", "--port", str(port)]
            process = await asyncio.to_thread(subprocess.Popen, command, cwd=REPO, env=env, stderr=stderr)
            url = f"http://127.0.0.1:{port}"
            await until_serving(process, f"{url}/v1/transcripts", stderr, START_TIMEOUT)
            site = Site(url, postgres, redis, tmp_path)
            yield site
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        # The servers the test ended with: it replaces each one it restarts.
        await asyncio.to_thread((site.redis if site else redis).stop)
        await asyncio.to_thread((site.postgres if site else postgres).stop)


async def _timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    response = await request
    return response, time.monotonic() - began


async def _until_ok(client: httpx.AsyncClient, path: str, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while (status := (await client.get(path)).status_code) != 200:
        assert time.monotonic() < deadline, f"{path} still answers {status} after the server came back"
        await asyncio.sleep(0.5)


async def test_the_web_answers_503_while_postgres_or_redis_restarts_and_serves_once_back(site: Site) -> None:
    # One site for both: the embedded PostgreSQL refuses a second private server in the same test session.
    async with httpx.AsyncClient(base_url=site.url, timeout=60) as client:
        await _postgres_restarts(client, site)
        await _redis_restarts(client, site)


async def _postgres_restarts(client: httpx.AsyncClient, site: Site) -> None:
    created = (await client.post("/v1/transcripts", json={"name": "Before the restart"})).json()

    await asyncio.to_thread(site.postgres.stop)
    for path in ("/v1/transcripts", f"/v1/transcripts/{created['id']}"):
        response, seconds = await _timed(client.get(path))
        assert response.status_code == 503, (path, response.status_code, response.text)
        assert response.json()["detail"].startswith("The database is not answering right now")
        assert response.headers["retry-after"] == "5"
        assert seconds < ANSWER_WITHIN_S, (path, seconds)
    # A person's page says the same, as a page.
    page, seconds = await _timed(client.get("/", headers={"accept": "text/html"}, follow_redirects=True))
    assert page.status_code == 503 and "The database is not answering" in page.text
    assert seconds < ANSWER_WITHIN_S

    site.postgres = EmbeddedPostgres(site.root / "postgres")
    await asyncio.to_thread(site.postgres.start)
    await _until_ok(client, f"/v1/transcripts/{created['id']}")
    assert (await client.get(f"/v1/transcripts/{created['id']}")).json()["name"] == "Before the restart"


async def _redis_restarts(client: httpx.AsyncClient, site: Site) -> None:
    """The last chunk of an upload arriving while Redis is away cannot be joined (the join is locked across
    web processes in Redis): 503, the chunk kept; sent again once Redis is back, the upload completes."""
    transcript_id = (await client.post("/v1/transcripts", json={"name": "Upload"})).json()["id"]
    upload = f"/v1/transcripts/{transcript_id}/record/upload?chunk_number=0&total_chunks=1"
    chunk = {"chunk": ("meeting.wav", (REAL / "two_speakers_sample.wav").read_bytes(), "audio/wav")}

    await asyncio.to_thread(site.redis.stop)
    response, seconds = await _timed(client.post(upload, files=chunk))
    assert response.status_code == 503, response.text
    assert response.json()["detail"].startswith("The queue and event server (Redis) is not answering")
    assert seconds < ANSWER_WITHIN_S
    assert (await client.get(f"/v1/transcripts/{transcript_id}")).json()["status"] == "idle"

    site.redis = EmbeddedRedis(site.root / "redis")
    await asyncio.to_thread(site.redis.start)
    resent = await client.post(upload, files=chunk)
    assert resent.status_code == 200, resent.text
    assert (await client.get(f"/v1/transcripts/{transcript_id}")).json()["status"] == "uploaded"
