"""PostgreSQL or Redis restarting under a worker in the middle of a step (issue 13, R3): the run completes
once the server is back, with no crash counted, nothing written twice and the worker still serving.

The servers are private ones (the embedded PostgreSQL and Redis of `reflector run`), so the test can stop
and start them. Redis comes back without its data, as an external Redis without persistence would (the
embedded one keeps an append-only file): the jobs it held are lost and the runs are queued again from
what PostgreSQL says is left to do. Recordings go in through `reflector submit`, as a person's would,
and what became of them is read from the database."""

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from reflector.entrypoints.embedded import EmbeddedPostgres, EmbeddedRedis
from reflector.settings import Settings, load_settings
from tests.integration.workers import WorkerProcess
from tests.paths import REAL, REPO

# Each stored event a run without summaries writes once.
ONCE = ("DURATION", "WAVEFORM")
ENDS_WITHIN_S = 240.0


@dataclass
class Site:
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis
    root: Path
    settings: Settings
    database_url: str
    worker: WorkerProcess


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    postgres, redis = EmbeddedPostgres(tmp_path / "postgres"), EmbeddedRedis(tmp_path / "redis")
    env = {
        "DATABASE_URL": await asyncio.to_thread(postgres.start),
        "REDIS_URL": await asyncio.to_thread(redis.start),
        "DATA_DIR": str(tmp_path / "data"),
    }
    site: Site | None = None
    try:
        await asyncio.to_thread(_reflector, env, "migrate")
        settings = load_settings(env, dotenv=Path("/nonexistent"))
        worker = WorkerProcess(settings, tmp_path / "worker.log").start()
        site = Site(postgres, redis, tmp_path, settings, env["DATABASE_URL"], worker)
        yield site
    finally:
        if site is not None:
            site.worker.stop()
        # The servers the test ended with: it replaces each one it restarts.
        await asyncio.to_thread((site.redis if site else redis).stop)
        await asyncio.to_thread((site.postgres if site else postgres).stop)


def _reflector(env: dict[str, str], *args: str) -> str:
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"), **env}
    done = subprocess.run(
        [sys.executable, "-m", "reflector", *args], cwd=REPO, env=full, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def _submit(site: Site, name: str) -> str:
    env = {"DATABASE_URL": site.database_url, "REDIS_URL": site.settings.redis.url or "",
           "DATA_DIR": str(site.settings.data_dir)}  # fmt: skip
    recording = str(REAL / "two_speakers_sample.wav")
    return _reflector(env, "submit", recording, "--name", name, "--no-summary").splitlines()[-1]


async def _query(site: Site, sql: str, *args: object) -> list[asyncpg.Record]:
    """`sql` against the site's database; [] while the database is away."""
    try:
        conn = await asyncpg.connect(site.database_url, timeout=2)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return []
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def _run_of(site: Site, transcript_id: str) -> asyncpg.Record | None:
    rows = await _query(
        site,
        "SELECT status, step, timings::text AS timings, crashes FROM pipeline_run WHERE transcript_id = $1"
        " ORDER BY created_at DESC LIMIT 1",
        transcript_id,
    )
    return rows[0] if rows else None


async def _mid_step(site: Site, *transcript_ids: str, within_s: float = 180) -> str:
    """Wait until one of the runs is in the middle of transcription and diarization; returns its transcript."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for transcript_id in transcript_ids:
            run = await _run_of(site, transcript_id)
            if run is not None and run["status"] == "running" and run["step"] in ("transcribe", "diarize"):
                return transcript_id
        assert site.worker.process is not None and site.worker.process.poll() is None, site.worker.log()[-3000:]
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no run reached transcription: {site.worker.log()[-3000:]}")


async def _until_logged(site: Site, event: str, at_least_s: float, within_s: float = 120) -> None:
    """Keep a server away for `at_least_s`, and until the worker has logged `event` (it met the outage)."""
    began = time.monotonic()
    await asyncio.sleep(at_least_s)
    while site.worker.log().count(event) == 0:
        assert time.monotonic() - began < within_s, f"the worker never logged {event}: {site.worker.log()[-3000:]}"
        await asyncio.sleep(0.2)


async def _ended(site: Site, transcript_id: str) -> None:
    """The run ended well: the transcript `ended` with its words, no crash counted, each event once."""
    deadline = time.monotonic() + ENDS_WITHIN_S
    while True:
        rows = await _query(site, "SELECT status, error, text FROM transcript WHERE id = $1", transcript_id)
        if rows and rows[0]["status"] in ("ended", "error"):
            break
        assert time.monotonic() < deadline, f"still {rows[0]['status'] if rows else '?'}: {site.worker.log()[-4000:]}"
        await asyncio.sleep(0.5)
    transcript = rows[0]
    assert (transcript["status"], transcript["error"]) == ("ended", ""), site.worker.log()[-4000:]
    assert len(transcript["text"].split()) > 20, transcript["text"]
    run = await _run_of(site, transcript_id)
    assert run is not None and (run["status"], run["crashes"]) == ("succeeded", 0), run
    events = await _query(
        site, "SELECT event, count(*) AS n FROM transcript_event WHERE transcript_id = $1 GROUP BY event", transcript_id
    )
    counts = {row["event"]: row["n"] for row in events}
    assert all(counts.get(kind) == 1 for kind in ONCE), counts


async def test_a_run_completes_after_postgres_then_redis_restart_under_its_worker(site: Site) -> None:
    # One site for both: the embedded PostgreSQL refuses a second private server in the same test session.
    await _postgres_restarts(site)
    await _redis_restarts_without_its_data(site)
    assert site.worker.process is not None and site.worker.process.poll() is None, "the worker stopped"


async def _postgres_restarts(site: Site) -> None:
    """Away for longer than the heartbeat's staleness (6 s here) and until the step has finished and its
    results wait for the database: they are written once it is back, and the worker does not take its own
    run for a dead worker's."""
    transcript_id = await asyncio.to_thread(_submit, site, "PostgreSQL restarts")
    await _mid_step(site, transcript_id)
    await asyncio.to_thread(site.postgres.stop)
    await _until_logged(site, "outage.waiting", at_least_s=8)
    site.postgres = EmbeddedPostgres(site.root / "postgres")
    await asyncio.to_thread(site.postgres.start)
    await _ended(site, transcript_id)


async def _redis_restarts_without_its_data(site: Site) -> None:
    """One run in the middle of a step and one queued behind it: the first goes on and queues its next
    job on the new Redis; the second's job is gone with the old data, and it is queued again."""
    first, second = await asyncio.gather(*(asyncio.to_thread(_submit, site, f"Redis restarts {i}") for i in (1, 2)))
    running = await _mid_step(site, first, second)
    waiting = second if running == first else first
    assert (await _run_of(site, waiting))["status"] == "queued"  # type: ignore[index]
    await asyncio.to_thread(site.redis.stop)
    shutil.rmtree(site.root / "redis")
    await _until_logged(site, "worker.queue_unreachable", at_least_s=2)
    site.redis = EmbeddedRedis(site.root / "redis")
    await asyncio.to_thread(site.redis.start)
    await _ended(site, running)
    await _ended(site, waiting)
    assert "run.job_lost" in site.worker.log()
