"""Readiness: can this deployment take work now? PostgreSQL, Redis, storage and a live worker.

Workers announce themselves with a Redis key that expires unless renewed, so a worker that dies
without a goodbye drops out by itself a few seconds later.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import ClassVar, Literal

import msgspec
import structlog
from redis.asyncio import Redis

from reflector.adapters.db import current_engine
from reflector.adapters.storage import Storage
from reflector.domain.errors import DomainError

log = structlog.get_logger(__name__)

PROBE_TIMEOUT_S = 2.0
_WORKER_PREFIX = "reflector:worker:"
# The names of the worker keys, so finding them costs one set read rather than a keyspace scan.
_WORKER_INDEX = "reflector:workers"


# The live worker (`reflector live`) announces itself as a worker of this one "queue": it captions
# recordings, it does not take pipeline jobs.
LIVE = "live"


class WorkerBeat(msgspec.Struct, frozen=True):
    host: str
    pid: int
    queues: list[str]


class ProbeResult(msgspec.Struct, frozen=True, omit_defaults=True):
    status: Literal["up", "down"]
    ms: float
    # Why it is down, in a few words; the full error goes to the log, not to anonymous callers.
    error: str | None = None


class Readiness(msgspec.Struct, frozen=True):
    checks: dict[str, ProbeResult]

    @property
    def ready(self) -> bool:
        return all(check.status == "up" for check in self.checks.values())

    @property
    def down(self) -> list[str]:
        return [name for name, check in self.checks.items() if check.status == "down"]


class NoLiveWorker(DomainError):
    status: ClassVar[int] = 503


def _worker_key(beat: WorkerBeat) -> str:
    return f"{_WORKER_PREFIX}{beat.host}:{beat.pid}"


async def announce_worker(redis: Redis, beat: WorkerBeat, ttl_s: float) -> None:
    """Say this worker is alive for the next `ttl_s` seconds; call again well before they pass."""
    key = _worker_key(beat)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(key, msgspec.json.encode(beat), px=max(1, round(ttl_s * 1000)))
        pipe.sadd(_WORKER_INDEX, key)
        await pipe.execute()


async def keep_announced(redis: Redis, beat: WorkerBeat, every_s: float) -> None:
    """Announce `beat` every `every_s` until cancelled; alive while three beats in a row may be missed."""
    while True:
        try:
            await announce_worker(redis, beat, ttl_s=3 * every_s)
        except Exception as exc:  # a Redis blip must not silence the worker for good
            log.warning("worker.heartbeat_failed", error=str(exc))
        await asyncio.sleep(every_s)


async def retire_worker(redis: Redis, beat: WorkerBeat) -> None:
    key = _worker_key(beat)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.delete(key)
        pipe.srem(_WORKER_INDEX, key)
        await pipe.execute()


async def announced_workers(redis: Redis) -> list[WorkerBeat]:
    keys = sorted(await redis.smembers(_WORKER_INDEX))
    if not keys:
        return []
    values = await redis.mget(keys)
    expired = [key for key, value in zip(keys, values, strict=True) if value is None]
    if expired:
        await redis.srem(_WORKER_INDEX, *expired)
    return [msgspec.json.decode(value, type=WorkerBeat) for value in values if value is not None]


async def _database() -> None:
    engine = current_engine()
    if engine is None:
        raise RuntimeError("no database engine configured")
    await engine.run_ddl("SELECT 1")


async def captions_available(redis: Redis) -> bool:
    """Whether a live worker is running to caption recordings as they are made."""
    return any(LIVE in beat.queues for beat in await announced_workers(redis))


async def _workers(redis: Redis) -> None:
    if not any(LIVE not in beat.queues for beat in await announced_workers(redis)):
        raise NoLiveWorker("no worker heartbeat")


async def _probe(name: str, check: Callable[[], Awaitable[object]], timeout_s: float) -> ProbeResult:
    started = time.perf_counter()
    error: str | None = None
    try:
        await asyncio.wait_for(check(), timeout_s)
    except TimeoutError:
        error = f"no answer within {timeout_s:g} s"
    except NoLiveWorker as exc:
        error = str(exc)
    except Exception as exc:
        error = type(exc).__name__
        log.warning("readiness.down", check=name, error=str(exc))
    ms = round((time.perf_counter() - started) * 1000, 1)
    return ProbeResult(status="up" if error is None else "down", ms=ms, error=error)


async def readiness(redis: Redis, storage: Storage, timeout_s: float = PROBE_TIMEOUT_S) -> Readiness:
    """Every dependency probed at once, each within `timeout_s`, so a hung one cannot hang the answer."""
    probes: dict[str, Callable[[], Awaitable[object]]] = {
        "database": _database,
        "redis": redis.ping,
        "storage": storage.check,
        "worker": lambda: _workers(redis),
    }
    results = await asyncio.gather(*(_probe(name, check, timeout_s) for name, check in probes.items()))
    return Readiness(checks=dict(zip(probes, results, strict=True)))
