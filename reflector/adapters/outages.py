"""Failures that mean a server the product depends on is away (restarting, unreachable), not that a request
was wrong: the web answers them with 503 and a sentence, and nothing is taken as done."""

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = structlog.get_logger(__name__)
T = TypeVar("T")

# How long work waits for a server that went away before it gives up: a restart takes seconds.
PATIENCE_S = 300.0

_DATABASE: tuple[type[Exception], ...] = (
    asyncpg.exceptions.PostgresConnectionError,  # refused, lost mid-query
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
)
_REDIS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
# What to catch; `is_outage` then tells. asyncpg lets the socket's own error through when it cannot connect
# (refused, or a Unix socket that is gone while the server restarts), so an OSError is one when it was
# raised inside a database or Redis client, and anything else (a file of ours) when it was not; asyncpg's
# interface errors are one when they say the connection broke.
UNREACHABLE: tuple[type[Exception], ...] = (
    *_DATABASE,
    *_REDIS,
    OSError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


def _broken_connection(exc: BaseException) -> bool:
    """asyncpg's own errors about a connection the server dropped under it: "connection is closed", or a
    pooled connection left mid-operation that cannot be reset ("cannot switch to state …")."""
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        return True
    return isinstance(exc, asyncpg.exceptions.InterfaceError) and "closed" in str(exc)


def _raised_in(exc: BaseException) -> str | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        parts = frame.filename.replace("\\", "/").split("/")
        if "asyncpg" in parts:
            return "database"
        if "redis" in parts:
            return "redis"
    return None


def _service(exc: BaseException) -> str | None:
    if isinstance(exc, _DATABASE) or _broken_connection(exc):
        return "database"
    if isinstance(exc, _REDIS):
        return "redis"
    return _raised_in(exc) if isinstance(exc, OSError) else None


def is_outage(exc: BaseException) -> bool:
    return _service(exc) is not None


def outage_sentence(exc: BaseException) -> str:
    service = "The database" if _service(exc) == "database" else "The queue and event server (Redis)"
    return f"{service} is not answering right now (it may be restarting); try again in a moment."


async def through_outage(call: Callable[[], Awaitable[T]], *, what: str, patience_s: float = PATIENCE_S) -> T:
    """`call()`, tried again every second while the database or Redis is away (restarting), for up to
    `patience_s`; then its error is raised. Any other error is raised at once. `call` must be safe to repeat."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            return await call()
        except UNREACHABLE as exc:
            if not is_outage(exc) or time.monotonic() > deadline:
                raise
            log.warning("outage.waiting", what=what, service=_service(exc), error=str(exc) or type(exc).__name__)
            await asyncio.sleep(1.0)
