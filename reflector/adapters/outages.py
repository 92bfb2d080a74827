"""Failures that mean a server the product depends on is away (restarting, unreachable), not that a request
was wrong: the web answers them with 503 and a sentence, and nothing is taken as done."""

import traceback

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

_DATABASE: tuple[type[Exception], ...] = (
    asyncpg.exceptions.PostgresConnectionError,  # refused, lost mid-query
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
)
_REDIS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
# What to catch; `is_outage` then tells. asyncpg lets the socket's own error through when it cannot connect
# (refused, or a Unix socket that is gone while the server restarts), so an OSError is one when it was
# raised inside a database or Redis client, and anything else (a file of ours) when it was not.
UNREACHABLE: tuple[type[Exception], ...] = (*_DATABASE, *_REDIS, OSError)


def _raised_in(exc: BaseException) -> str | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        parts = frame.filename.replace("\\", "/").split("/")
        if "asyncpg" in parts:
            return "database"
        if "redis" in parts:
            return "redis"
    return None


def _service(exc: BaseException) -> str | None:
    if isinstance(exc, _DATABASE):
        return "database"
    if isinstance(exc, _REDIS):
        return "redis"
    return _raised_in(exc) if isinstance(exc, OSError) else None


def is_outage(exc: BaseException) -> bool:
    return _service(exc) is not None


def outage_sentence(exc: BaseException) -> str:
    service = "The database" if _service(exc) == "database" else "The queue and event server (Redis)"
    return f"{service} is not answering right now (it may be restarting); try again in a moment."
