"""How often a person may do the things an attacker would do by the thousand: create API keys (a stolen
session minting keys) and start sign-ins (hammering the provider through us).

Counts live in Redis, so every web process shares them; a fixed window per subject is enough here.
"""

import math
from datetime import timedelta
from typing import ClassVar

import msgspec
import structlog
from redis.asyncio import Redis

from reflector.domain.errors import DomainError

log = structlog.get_logger(__name__)


class RateLimit(msgspec.Struct, frozen=True):
    name: str
    allowance: int
    window: timedelta
    what: str  # for the sentence a refused person reads


API_KEY_CREATION = RateLimit("api_key_create", 10, timedelta(hours=1), "API keys created")
# Per client address: generous, since a whole office may sign in from behind one NAT at nine.
SIGN_IN = RateLimit("sign_in", 120, timedelta(minutes=10), "sign-in attempts")


class RateLimited(DomainError):
    status: ClassVar[int] = 429

    def __init__(self, rule: RateLimit, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        minutes = max(1, math.ceil(retry_after_seconds / 60))
        super().__init__(f"Too many {rule.what}; try again in {minutes} minute{'s' if minutes != 1 else ''}")


def _counter(rule: RateLimit, subject: str) -> str:
    return f"reflector:limits:{rule.name}:{subject}"


async def spend(redis: Redis, rule: RateLimit, subject: str) -> None:
    """Count one use by `subject` (a user id, a client address); raises RateLimited past the allowance."""
    window = int(rule.window.total_seconds())
    key = _counter(rule, subject)
    async with redis.pipeline(transaction=True) as pipe:
        # NX: only the window's first use starts the clock, and the count can never outlive it.
        pipe.incr(key).expire(key, window, nx=True).ttl(key)
        count, _, ttl = await pipe.execute()
    if count > rule.allowance:
        retry_after = ttl if ttl > 0 else window
        log.warning("audit.rate_limited", limit=rule.name, subject=subject, count=count, retry_after=retry_after)
        raise RateLimited(rule, retry_after)


async def count_key_creation(redis: Redis, user_id: str) -> None:
    await spend(redis, API_KEY_CREATION, user_id)
