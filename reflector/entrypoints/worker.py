"""The worker process: one arq worker per queue it serves, sharing this process's models."""

import asyncio
import contextlib
import functools
from typing import Any

import structlog
from arq.worker import Worker, func

from reflector.adapters.gate import MachineGate
from reflector.adapters.outages import UNREACHABLE, is_outage
from reflector.adapters.queue import count_finished, redis_settings
from reflector.bootstrap import ALL_JOBS, recording_notices
from reflector.domain.processing import jobs
from reflector.domain.processing.holders import Holder
from reflector.domain.processing.models import queue_name
from reflector.domain.processing.scratch import remove_orphaned_scratch
from reflector.domain.rooms.figures import mark_run
from reflector.entrypoints.process_lifecycle import WorkerProcess, worker_process
from reflector.model_registry import ModelRegistry
from reflector.settings import Settings

log = structlog.get_logger(__name__)


async def run_worker(settings: Settings, queues: list[str], *, burst: bool = False) -> None:
    known = {job.queue for job in ALL_JOBS}
    unknown = [q for q in queues if q not in known]
    if unknown:
        raise ValueError(f"unknown queue(s) {unknown}; choose from {sorted(known)}")
    async with worker_process(settings, "worker") as process:
        await _serve(process, settings, queues, burst=burst)


async def _serve(process: WorkerProcess, settings: Settings, queues: list[str], *, burst: bool) -> None:
    services = process.services
    job_services = jobs.JobServices(
        transcripts=services.transcripts,
        runs=services.runs,
        storage=services.storage,
        models=ModelRegistry(settings),
        gate=MachineGate(settings.data_dir / "locks" / "cpu.lock"),
        holder=Holder(),
        heartbeat_s=settings.worker.heartbeat_s,
        recordings=services.recordings_bucket,
        stopping=process.stopping,
    )
    assert settings.redis.url is not None
    # One arq worker per queue, running the jobs declared on it with their policies.
    workers = [
        Worker(
            functions=[
                func(j.function, name=j.name, timeout=j.timeout_s, max_tries=j.max_tries, keep_result=j.keep_result_s)
                for j in ALL_JOBS
                if j.queue == queue
            ],
            queue_name=queue_name(queue),
            redis_settings=redis_settings(settings.redis.url),
            ctx={
                "services": job_services,
                "webhooks": services.webhooks,
                "emails": services.emails,
                "zulip": services.zulip,
            },
            burst=burst,
            handle_signals=False,
            max_jobs=max(j.concurrency for j in ALL_JOBS if j.queue == queue),
            poll_delay=0.2,
            after_job_end=functools.partial(_job_ended, queue_name(queue)),
        )
        for queue in queues
    ]
    log.info("worker.started", queues=[w.queue_name for w in workers])
    for path in remove_orphaned_scratch():
        log.info("worker.scratch_removed", path=str(path), reason="its worker process is gone")

    async def reap() -> None:
        # What a dead predecessor on this host held (the supervisor restarts a killed worker) comes back
        # at once; what a silent worker anywhere held, once its heartbeat is stale.
        try:
            await services.runs.requeue_dead_holders(job_services.holder)
        except Exception as exc:  # PostgreSQL or Redis away: their heartbeats go stale, taken back below
            log.warning("runs.reap_failed", error=str(exc))
        while True:
            # Runs whose worker went silent, and runs whose job Redis lost (restarted without its data).
            try:
                await services.runs.requeue_stale(job_services.holder)
                await services.runs.requeue_lost()
            except Exception as exc:  # PostgreSQL or Redis restarting: reaped again next time
                log.warning("runs.reap_failed", error=str(exc))
            # Recordings the platforms announced become transcripts (each once, whichever worker sweeps).
            try:
                await services.recordings.process_waiting()
                # A meeting in which someone declined to be recorded: its audio and video, once processed.
                await services.recordings.forget_declined(services.recordings_bucket or services.storage)
                await mark_run(services.redis, "recordings")
            except Exception as exc:  # PostgreSQL restarting: swept again next time
                log.warning("recordings.sweep_failed", error=str(exc))
            # Meetings: presence asked of the platforms, ones in use extended, empty or ended ones closed;
            # one sweep per 30 s whichever worker gets to it (a Redis key), so any worker may go away.
            try:
                await services.meetings.sweep()
            except Exception as exc:  # a platform or PostgreSQL away: swept again next time
                log.warning("meetings.sweep_failed", error=str(exc))
            # Calendars: feeds whose interval elapsed fetched, meetings opened for events about to start.
            try:
                await services.calendars.sweep()
            except Exception as exc:  # PostgreSQL away: swept again next time
                log.warning("calendars.sweep_failed", error=str(exc))
            # The trash older than TRASH_DAYS purged, audio past its room's limit deleted (once per period).
            try:
                await services.retention.sweep()
                await mark_run(services.redis, "retention")
            except Exception as exc:  # PostgreSQL or the store away: swept again next time
                log.warning("retention.sweep_failed", error=str(exc))
            # Webhook attempts a dead worker held, or whose job Redis lost, are queued again.
            try:
                await services.webhooks.sweep()
            except Exception as exc:  # PostgreSQL restarting: swept again next time
                log.warning("webhooks.sweep_failed", error=str(exc))
            await asyncio.sleep(settings.worker.stale_after_s / 3)

    reaper = asyncio.create_task(reap())
    # Recordings a bucket announces on its SQS queue (Whereby's MP4s): polled by every worker, SQS handing
    # each message to one of them at a time.
    notices = recording_notices(settings, services)
    polling = (
        asyncio.create_task(notices.run(process.stopping, ran=lambda: mark_run(services.redis, "recording_queue")))
        if notices
        else None
    )
    # Readiness counts a worker alive while its key lives: three missed beats and it is gone.
    process.announce([w.queue_name for w in workers])
    running = [asyncio.create_task(_keep_polling(w)) for w in workers]
    waiter = asyncio.create_task(process.stopping.wait())
    try:
        if burst:
            await asyncio.gather(*running)
        else:
            await asyncio.wait([waiter, *running], return_when=asyncio.FIRST_COMPLETED)
    finally:
        log.info("worker.stopping")
        reaper.cancel()
        if polling is not None:
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await polling
        await process.retire()
        waiter.cancel()
        for w in workers:
            await w.close()
        for task in running:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _job_ended(queue: str, ctx: dict[str, Any]) -> None:
    # Each queue's throughput for `/metrics`, whichever worker ran the job.
    try:
        await count_finished(ctx["redis"], queue, ctx["job_id"])
    except UNREACHABLE as exc:  # Redis restarting: one job uncounted, the job itself is done
        log.warning("worker.count_failed", queue=queue, error=str(exc) or type(exc).__name__)


async def _keep_polling(worker: Worker) -> None:
    """arq's loop of `worker`, started again when Redis goes away under it (restarting): its running jobs
    go on meanwhile, and once Redis answers it takes jobs again."""
    while True:
        try:
            await worker.async_run()
            return
        except UNREACHABLE as exc:
            if not is_outage(exc):
                raise
            log.warning("worker.queue_unreachable", queue=worker.queue_name, error=str(exc) or type(exc).__name__)
            await asyncio.sleep(1.0)
