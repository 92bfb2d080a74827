"""A browser coming back to a live recording may reach another web process than the one receiving it (several
processes share the port): its new offer is relayed over Redis to that process, which answers it with its own
ICE candidates, so the audio goes on flowing to the process writing the recording.

Each web process listens on a channel named after it; the lock of a recording names the process holding it.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

# How long the process that got the offer waits for the holder's answer; past it the offer is refused (409),
# as when the holder says the recording is still going on.
REPLY_WAIT_S = 15


class RelayedOffer(msgspec.Struct, frozen=True):
    transcript_id: str
    sdp: str
    type: str
    reply_to: str  # a Redis list the answer is pushed to


class RelayedAnswer(msgspec.Struct, frozen=True):
    # answer: the holder took the browser back (sdp, type); in_progress: its peer is still connected;
    # locked / invalid: refused (detail says why); gone: it no longer holds the recording.
    outcome: Literal["answer", "in_progress", "locked", "invalid", "gone"]
    sdp: str = ""
    type: str = ""
    detail: str = ""


def _channel(process_id: str) -> str:
    return f"reflector:recording:offers:{process_id}"


async def relay(redis: Redis, holder: str, transcript_id: str, sdp: str, kind: str) -> RelayedAnswer | None:
    """The holder's answer to the offer; None when no process by that id listens (it died: its lock expires)."""
    reply_to = f"reflector:recording:answer:{uuid.uuid4().hex}"
    offer = RelayedOffer(transcript_id=transcript_id, sdp=sdp, type=kind, reply_to=reply_to)
    if not await redis.publish(_channel(holder), msgspec.json.encode(offer)):
        return None
    popped = await redis.blpop([reply_to], timeout=REPLY_WAIT_S)
    if popped is None:
        log.warning("recording.relay_unanswered", transcript_id=transcript_id, holder=holder)
        return RelayedAnswer(outcome="in_progress")
    return msgspec.json.decode(popped[1], type=RelayedAnswer)


async def serve_relayed(
    redis: Redis, process_id: str, answer: Callable[[RelayedOffer], Awaitable[RelayedAnswer]]
) -> None:
    """Answer the offers other web processes relay to this one, until cancelled; through Redis restarts."""
    tasks: set[asyncio.Task[None]] = set()

    async def reply(offer: RelayedOffer) -> None:
        answered = await answer(offer)
        async with redis.pipeline(transaction=True) as pipe:
            await pipe.rpush(offer.reply_to, msgspec.json.encode(answered)).expire(offer.reply_to, 60).execute()

    while True:
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(_channel(process_id))
            async for message in pubsub.listen():
                task = asyncio.create_task(reply(msgspec.json.decode(message["data"], type=RelayedOffer)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except (RedisError, OSError) as exc:
            log.warning("recording.relay_interrupted", error=str(exc) or type(exc).__name__)
            await asyncio.sleep(1.0)
        finally:
            await pubsub.aclose()
