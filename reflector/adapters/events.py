"""The events' transport: Redis pub/sub channels `ts:{transcript_id}`, `user:{user_id}` and `access`.

What the events are is the domain's (`reflector/domain/events.py`); here they travel as Reflector's
envelope `{event, data}` with the id of their row in the stored log.
"""

from typing import Any

import msgspec
import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from reflector.encoding import encode

log = structlog.get_logger(__name__)


class TranscriptEventMessage(msgspec.Struct, frozen=True, omit_defaults=True):
    """One event as published on Redis. `id` is its row in the transcript's stored log (None when the
    event is not stored, e.g. PROGRESS); subscribers use it to skip what they already replayed. Clients
    only ever see `{event, data}`."""

    event: str
    data: dict[str, Any]
    id: int | None = None


# Where changes to who may see what are announced, so that open sockets check their caller again.
ACCESS_CHANNEL = "access"
ACCESS_CHANGED = "ACCESS_CHANGED"


class AccessChange(msgspec.Struct, frozen=True, omit_defaults=True):
    """Something that grants access changed: a transcript's share mode, owner or existence (`transcript_id`),
    or a user's role, keys or sessions (`user_id`). Sockets it may concern check their caller again."""

    transcript_id: str | None = None
    user_id: str | None = None


def transcript_channel(transcript_id: str) -> str:
    return f"ts:{transcript_id}"


def user_channel(user_id: str) -> str:
    return f"user:{user_id}"


class EventBus:
    """Publishes events; subscribers (the WebSocket layer) listen on the same channels."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def publish(self, channel: str, event: str, data: dict[str, Any], event_id: int | None = None) -> None:
        """Best effort: with Redis away (restarting), a stored event reaches subscribers from the log when
        they reconnect, and the work that produced it goes on."""
        payload = encode(TranscriptEventMessage(event=event, data=data, id=event_id))
        try:
            await self._redis.publish(channel, payload)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.warning("events.publish_failed", channel=channel, event_type=event, stored=event_id is not None,
                        error=str(exc))  # fmt: skip

    async def access_changed(self, change: AccessChange) -> None:
        await self.publish(ACCESS_CHANNEL, ACCESS_CHANGED, msgspec.structs.asdict(change))


def decode_event(payload: bytes) -> TranscriptEventMessage:
    return msgspec.json.decode(payload, type=TranscriptEventMessage)
