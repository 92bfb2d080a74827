"""What every worker process does around its work, the pipeline workers and the live worker alike: error
tracking, its services, stopping on SIGINT or SIGTERM, the heartbeat that says it is alive (readiness and
the record page read it), and a clean shutdown."""

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import AsyncIterator

from reflector.adapters.error_tracking import init_error_tracking
from reflector.bootstrap import Services, start_services, stop_services
from reflector.domain.health import WorkerBeat, keep_announced, retire_worker
from reflector.settings import Settings


class WorkerProcess:
    def __init__(self, services: Services, heartbeat_s: float) -> None:
        self.services = services
        # Set when the process is told to stop (SIGINT, SIGTERM).
        self.stopping = asyncio.Event()
        self._heartbeat_s = heartbeat_s
        self._beat: WorkerBeat | None = None
        self._announcer: asyncio.Task[None] | None = None

    def announce(self, queues: list[str]) -> None:
        """Say every heartbeat that this process is alive and serves `queues`, until it retires: three
        missed beats and it counts as gone."""
        self._beat = WorkerBeat(host=socket.gethostname(), pid=os.getpid(), queues=queues)
        self._announcer = asyncio.create_task(keep_announced(self.services.redis, self._beat, self._heartbeat_s))

    async def retire(self) -> None:
        """Stop announcing and say at once that this process is gone (safe to repeat)."""
        if self._announcer is not None:
            self._announcer.cancel()
        beat, self._beat = self._beat, None
        if beat is not None:
            with contextlib.suppress(Exception):
                await retire_worker(self.services.redis, beat)


@contextlib.asynccontextmanager
async def worker_process(settings: Settings, name: str) -> AsyncIterator[WorkerProcess]:
    """The process's services, stopping when signalled; on leaving it retires and closes them."""
    init_error_tracking(settings.server.sentry_dsn, process=name)
    services = await start_services(settings)
    process = WorkerProcess(services, settings.worker.heartbeat_s)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, process.stopping.set)
    try:
        yield process
    finally:
        await process.retire()
        await stop_services(services)
