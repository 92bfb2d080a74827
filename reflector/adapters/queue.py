"""The job queue over Redis (arq): the domain's JobQueue port, and what an autoscaler reads of each queue."""

import time
from collections.abc import Sequence
from typing import Any, Protocol

import msgspec
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import in_progress_key_prefix, job_key_prefix
from redis.asyncio import Redis


class Job(Protocol):
    """What the queue needs of a job's declaration (the domain's JobPolicy)."""

    @property
    def name(self) -> str: ...

    @property
    def queue_name(self) -> str: ...


class QueueFigures(msgspec.Struct, frozen=True):
    """One queue as it stands: what waits, what runs, what is deferred, and how long the oldest has waited."""

    queue: str
    waiting: int  # due and not taken by a worker: what more workers would start at once
    running: int
    deferred: int  # due later (a retry's back-off, a webhook's next attempt)
    oldest_wait_s: float  # since the oldest waiting job became due; 0 when none waits
    finished: int  # jobs the workers ended on this queue, ever (succeeded or failed): a counter


def _finished_key(queue_name: str) -> str:
    return f"{queue_name}:finished"


async def count_finished(redis: Redis, queue_name: str, job_id: str) -> None:
    """Count the job if it ended (arq took it off its queue; one it will try again stays there): in Redis, so
    that every worker's count adds up."""
    if await redis.zscore(queue_name, job_id) is None:
        await redis.incr(_finished_key(queue_name))


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 5
    return settings


class ArqJobQueue:
    def __init__(self, pool: ArqRedis) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, url: str) -> "ArqJobQueue":
        return cls(await create_pool(redis_settings(url)))

    async def enqueue(self, policy: Job, *args: Any, job_id: str, defer_s: float = 0) -> None:
        """Queue the job (once per `job_id` while it is known to arq), to run in `defer_s` seconds."""
        await self._pool.enqueue_job(
            policy.name, *args, _job_id=job_id, _queue_name=policy.queue_name, _defer_by=defer_s or None
        )

    async def holds(self, job_id_prefix: str) -> bool:
        """Whether arq holds a job whose id starts with `job_id_prefix` (waiting, deferred or running: its
        job key lives until the job is over)."""
        async for _ in self._pool.scan_iter(match=f"{job_key_prefix}{job_id_prefix}*", count=1000):
            return True
        return False

    async def figures(self, queue_names: Sequence[str]) -> list[QueueFigures]:
        """Each queue's figures. arq keeps a queue as a sorted set of job ids scored by the moment each is due (its
        enqueue time, or the time it was deferred to, in ms) and leaves a running job in it, marked by an
        in-progress key, until it ends."""
        now_ms = time.time() * 1000
        async with self._pool.pipeline(transaction=False) as pipe:
            for name in queue_names:
                pipe.zrangebyscore(name, "-inf", now_ms, withscores=True)
                pipe.zcount(name, f"({now_ms}", "+inf")
                pipe.get(_finished_key(name))
            replies = await pipe.execute()
        dues = replies[0::3]
        async with self._pool.pipeline(transaction=False) as pipe:
            for job_id, _ in (job for due in dues for job in due):
                pipe.exists(in_progress_key_prefix + job_id.decode())
            held = iter(await pipe.execute())
        figures = []
        for name, due, deferred, finished in zip(queue_names, dues, replies[1::3], replies[2::3], strict=True):
            # Scores ascend, so the first due job no worker holds is the one that has waited longest.
            waiting = [score for _, score in due if not next(held)]
            figures.append(
                QueueFigures(
                    queue=name,
                    waiting=len(waiting),
                    running=len(due) - len(waiting),
                    deferred=deferred,
                    oldest_wait_s=max(0.0, (now_ms - waiting[0]) / 1000) if waiting else 0.0,
                    finished=int(finished or 0),
                )
            )
        return figures

    async def close(self) -> None:
        await self._pool.aclose()
