"""`WEB_CONCURRENCY`, which Heroku-style platforms set by themselves, runs that many web processes behind the
one port; it used to make uvicorn refuse the app object and `reflector web` exit."""

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from reflector.bootstrap import Services
from reflector.settings import Settings
from tests.net import free_port, until_serving
from tests.paths import REPO

START_TIMEOUT = 120.0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


async def test_web_concurrency_runs_that_many_web_processes(clean: Services, settings: Settings) -> None:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": str(settings.database.url),
        "REDIS_URL": str(settings.redis.url),
        "DATA_DIR": str(settings.data_dir),
        "LOG_LEVEL": "warning",
        "WEB_CONCURRENCY": "2",
    }
    command = [sys.executable, "-m", "reflector", "web", "--port", str(port)]
    with tempfile.TemporaryFile() as stderr:
        process = await asyncio.to_thread(subprocess.Popen, command, cwd=REPO, env=env, stderr=stderr)
        try:
            base = f"http://127.0.0.1:{port}"
            await until_serving(process, f"{base}/v1/transcripts", stderr, START_TIMEOUT)
            deadline = time.monotonic() + START_TIMEOUT
            while len(_children(process.pid)) < 2:
                assert time.monotonic() < deadline, "reflector web did not start two processes"
                await asyncio.sleep(0.2)
            async with httpx.AsyncClient(base_url=base) as client:
                answers = [(await client.get("/v1/transcripts")).status_code for _ in range(20)]
            assert set(answers) == {200}, answers
            assert len(_children(process.pid)) >= 2
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
