"""How often a person may create API keys: a stolen session should not mint keys by the thousand.

The count lives in Redis, so every web process shares it; a fixed window per user is enough here.
"""

import math
from datetime import timedelta

import structlog
from redis.asyncio import Redis

log = structlog.get_logger(__name__)

KEY_CREATIONS_PER_WINDOW = 10
KEY_CREATION_WINDOW = timedelta(hours=1)


class TooManyApiKeys(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        minutes = max(1, math.ceil(retry_after_seconds / 60))
        super().__init__(f"Too many API keys created; try again in {minutes} minute{'s' if minutes != 1 else ''}")


def _counter(user_id: str) -> str:
    return f"reflector:limits:api_key_create:{user_id}"


async def count_key_creation(redis: Redis, user_id: str) -> None:
    """Count one key creation for `user_id`; raises TooManyApiKeys when the window's allowance is spent."""
    window = int(KEY_CREATION_WINDOW.total_seconds())
    key = _counter(user_id)
    async with redis.pipeline(transaction=True) as pipe:
        # NX: only the window's first creation starts the clock, and the count can never outlive it.
        pipe.incr(key).expire(key, window, nx=True).ttl(key)
        count, _, ttl = await pipe.execute()
    if count > KEY_CREATIONS_PER_WINDOW:
        retry_after = ttl if ttl > 0 else window
        log.warning("audit.api_key_rate_limited", user_id=user_id, count=count, retry_after=retry_after)
        raise TooManyApiKeys(retry_after)
