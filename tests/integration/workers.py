"""Real worker processes for the tests, and waiting on what they do."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from reflector.bootstrap import Services
from reflector.domain.health import announced_workers
from reflector.domain.transcripts.models import NewTranscript, TranscriptView
from reflector.pipelines.meeting import PipelineOptions
from reflector.settings import Settings


def worker_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database.url or "",
        "REDIS_URL": settings.redis.url or "",
        "DATA_DIR": str(settings.data_dir),
        "WORKER_STALE_AFTER_S": "6",
        "WORKER_HEARTBEAT_S": "1",
        "LOG_LEVEL": "info",
    }


class WorkerProcess:
    """`reflector worker` on `queues`, or with `live` the live worker (`reflector live`)."""

    def __init__(
        self,
        settings: Settings,
        log_path: Path,
        queues: str = "speech,speech-long,llm",
        *,
        live: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self._settings = settings
        self._env = env or {}  # settings of its own (WEBHOOK_*), beside the test services'
        self._log_path = log_path
        self._argv = ["live"] if live else ["worker", "--queues", queues]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "WorkerProcess":
        log = self._log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reflector", *self._argv],
            env={**worker_env(self._settings), **self._env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as a crash or an OOM kill."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")

    async def serving(self, services: Services, queue: str, within_s: float = 120) -> None:
        """Wait until this worker has announced itself serving `queue` (its heartbeat in Redis), alive."""
        assert self.process is not None
        pid = self.process.pid
        deadline = time.monotonic() + within_s
        while not any(queue in beat.queues and beat.pid == pid for beat in await announced_workers(services.redis)):
            assert self.process is not None and self.process.poll() is None, self.log()[-3000:]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no worker announced itself for {queue!r}: {self.log()[-3000:]}")
            await asyncio.sleep(0.2)


async def submit(services: Services, path: Path, options: PipelineOptions, name: str = "") -> str:
    transcript = await services.transcripts.create(NewTranscript(name=name or path.name))
    await services.transcripts.store_upload(transcript.id, path)
    await services.runs.request(transcript.id, options)
    return transcript.id


async def wait_for_status(
    services: Services, transcript_id: str, statuses: tuple[str, ...] = ("ended", "error"), within_s: float = 600
) -> TranscriptView:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        transcript = await services.transcripts.get(transcript_id)
        if transcript.status in statuses:
            return transcript
        await asyncio.sleep(0.2)
    raise TimeoutError(f"transcript {transcript_id} still {transcript.status} after {within_s} s")
