"""The worker process: one arq worker per queue it serves, sharing this process's models."""

import asyncio
import contextlib
import os
import signal
import socket

import structlog
from arq.worker import Worker, func

from reflector.bootstrap import ModelRegistry, start_services, stop_services
from reflector.domain.health import WorkerBeat, keep_announced, retire_worker
from reflector.domain.pipelines import jobs
from reflector.domain.pipelines.holders import Holder
from reflector.domain.pipelines.models import queue_name
from reflector.error_tracking import init_error_tracking
from reflector.gate import MachineGate
from reflector.queue import redis_settings
from reflector.settings import Settings

log = structlog.get_logger(__name__)


async def run_worker(settings: Settings, queues: list[str], *, burst: bool = False) -> None:
    known = {job.queue for job in jobs.JOBS}
    unknown = [q for q in queues if q not in known]
    if unknown:
        raise ValueError(f"unknown queue(s) {unknown}; choose from {sorted(known)}")
    init_error_tracking(settings.server.sentry_dsn, process="worker")
    services = await start_services(settings)
    job_services = jobs.JobServices(
        transcripts=services.transcripts,
        runs=services.runs,
        storage=services.storage,
        models=ModelRegistry(settings),
        gate=MachineGate(settings.data_dir / "locks" / "cpu.lock"),
        holder=Holder(),
        heartbeat_s=settings.worker.heartbeat_s,
    )
    assert settings.redis.url is not None
    # One arq worker per queue, running the jobs declared on it with their policies.
    workers = [
        Worker(
            functions=[
                func(j.function, name=j.name, timeout=j.timeout_s, max_tries=j.max_tries, keep_result=j.keep_result_s)
                for j in jobs.JOBS
                if j.queue == queue
            ],
            queue_name=queue_name(queue),
            redis_settings=redis_settings(settings.redis.url),
            ctx={"services": job_services},
            burst=burst,
            handle_signals=False,
            max_jobs=1,
            poll_delay=0.2,
        )
        for queue in queues
    ]
    log.info("worker.started", queues=[w.queue_name for w in workers])
    stop = job_services.stopping
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def reap() -> None:
        # What a dead predecessor on this host held (the supervisor restarts a killed worker) comes back
        # at once; what a silent worker anywhere held, once its heartbeat is stale.
        await services.runs.requeue_dead_holders(job_services.holder)
        while True:
            await services.runs.requeue_stale()
            await asyncio.sleep(settings.worker.stale_after_s / 3)

    beat = WorkerBeat(host=socket.gethostname(), pid=os.getpid(), queues=[w.queue_name for w in workers])

    reaper = asyncio.create_task(reap())
    # Readiness counts a worker alive while its key lives: three missed beats and it is gone.
    announcer = asyncio.create_task(keep_announced(services.redis, beat, settings.worker.heartbeat_s))
    running = [asyncio.create_task(w.async_run()) for w in workers]
    waiter = asyncio.create_task(stop.wait())
    try:
        if burst:
            await asyncio.gather(*running)
        else:
            await asyncio.wait([waiter, *running], return_when=asyncio.FIRST_COMPLETED)
    finally:
        log.info("worker.stopping")
        reaper.cancel()
        announcer.cancel()
        with contextlib.suppress(Exception):
            await retire_worker(services.redis, beat)
        waiter.cancel()
        for w in workers:
            await w.close()
        for task in running:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await stop_services(services)
