"""The job queue over Redis (arq): the domain's JobQueue port."""

from typing import Any, Protocol

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import job_key_prefix


class Job(Protocol):
    """What the queue needs of a job's declaration (the domain's JobPolicy)."""

    @property
    def name(self) -> str: ...

    @property
    def queue_name(self) -> str: ...


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

    async def close(self) -> None:
        await self._pool.aclose()
