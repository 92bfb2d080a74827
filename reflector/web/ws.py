"""Event streams for WebSockets: one Redis pub/sub connection per web process, fanned out to local sockets.

A channel is subscribed on Redis while at least one local socket listens to it and unsubscribed when the
last one leaves. Each socket gets a bounded queue: a client that cannot keep up is told to go (and can
reconnect, getting the stored log replayed) rather than growing the process's memory.
"""

import asyncio
import contextlib
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from typing import NamedTuple

import msgspec
import structlog
from litestar import Litestar
from litestar.datastructures import State
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from reflector.adapters.events import TranscriptEventMessage, decode_event

log = structlog.get_logger(__name__)

QUEUE_SIZE = 256
SUBSCRIBE_TIMEOUT_S = 10.0


class Delivery(NamedTuple):
    """An event for one socket: its id in the stored log (None if not stored), the client frame (encoded
    once for every socket), and the event itself for a socket that is sent another view of it."""

    event_id: int | None
    frame: bytes
    message: TranscriptEventMessage


class StreamEnd(NamedTuple):
    """The stream ends for this socket; close it with this code and reason."""

    code: int
    reason: str


TOO_SLOW = StreamEnd(1013, "Client too slow: events were dropped; reconnect to replay them")
INTERRUPTED = StreamEnd(1011, "Event stream interrupted; reconnect to replay missed events")
SHUTTING_DOWN = StreamEnd(1001, "Server shutting down")


def client_frame(message: TranscriptEventMessage) -> bytes:
    """Reflector's envelope `{event, data}`: the log id stays between our processes."""
    return msgspec.json.encode(msgspec.structs.replace(message, id=None))


class Listener:
    """One socket's view of a channel."""

    def __init__(self, channel: str, size: int) -> None:
        self.channel = channel
        self._queue: asyncio.Queue[Delivery | StreamEnd] = asyncio.Queue(size)
        self.ended = False

    async def next(self) -> Delivery | StreamEnd:
        return await self._queue.get()

    def offer(self, delivery: Delivery) -> bool:
        """Queue a delivery; False when the queue is full."""
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            return False
        return True

    def end(self, reason: StreamEnd) -> None:
        # Whatever is still queued is moot: the socket closes and a reconnect replays the log.
        self.ended = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(reason)


class _Channel:
    def __init__(self, confirmed: asyncio.Future[None]) -> None:
        self.listeners: set[Listener] = set()
        self.confirmed = confirmed


class EventFanout:
    """Shares one Redis subscription per channel among this process's sockets."""

    def __init__(self, redis: Redis, queue_size: int = QUEUE_SIZE) -> None:
        self._redis = redis
        self._queue_size = queue_size
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._channels: dict[str, _Channel] = {}
        # Futures of SUBSCRIBE commands sent and not yet confirmed, per channel, in sending order:
        # Redis confirms each SUBSCRIBE in order, so the oldest is the one confirmed.
        self._unconfirmed: dict[str, deque[asyncio.Future[None]]] = defaultdict(deque)
        # Keeps SUBSCRIBE/UNSUBSCRIBE on the wire in the order the channel table changed.
        self._commands = asyncio.Lock()

    @property
    def channels(self) -> list[str]:
        """Channels this process is subscribed to now."""
        return list(self._channels)

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[Listener]:
        """A listener on `channel`, subscribed on Redis when this returns, so nothing published from
        then on is missed."""
        listener = Listener(channel, self._queue_size)
        try:
            await self._attach(listener)
            yield listener
        finally:
            await self._detach(listener)

    async def _attach(self, listener: Listener) -> None:
        state = self._channels.get(listener.channel)
        if state is None:
            state = _Channel(asyncio.get_running_loop().create_future())
            self._channels[listener.channel] = state
            state.listeners.add(listener)
            try:
                async with self._commands:
                    pubsub = self._pubsub or self._redis.pubsub()
                    self._pubsub = pubsub
                    self._unconfirmed[listener.channel].append(state.confirmed)
                    await pubsub.subscribe(listener.channel)
                    if self._reader is None:
                        self._reader = asyncio.create_task(self._read(pubsub), name="event-fanout")
            except Exception as exc:
                if not state.confirmed.done():
                    state.confirmed.set_exception(exc)
        else:
            state.listeners.add(listener)
        async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
            await asyncio.shield(state.confirmed)

    async def _detach(self, listener: Listener) -> None:
        state = self._channels.get(listener.channel)
        if state is None or listener not in state.listeners:
            return
        state.listeners.discard(listener)
        if state.listeners:
            return
        del self._channels[listener.channel]
        if self._pubsub is None:
            return
        async with self._commands:
            with contextlib.suppress(Exception):
                await self._pubsub.unsubscribe(listener.channel)

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    self._confirm(_text(message["channel"]))
                elif message["type"] == "message":
                    self._deliver(_text(message["channel"]), message["data"])
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("events.subscription_lost", channels=len(self._channels))
            await self._reset(INTERRUPTED)

    def _confirm(self, channel: str) -> None:
        waiting = self._unconfirmed.get(channel)
        if not waiting:
            return
        confirmed = waiting.popleft()
        if not waiting:
            del self._unconfirmed[channel]
        if not confirmed.done():
            confirmed.set_result(None)

    def _deliver(self, channel: str, payload: bytes) -> None:
        state = self._channels.get(channel)
        if state is None:
            return
        try:
            message = decode_event(payload)
        except msgspec.DecodeError:
            log.warning("events.undecodable", channel=channel)
            return
        delivery = Delivery(message.id, client_frame(message), message)
        for listener in state.listeners:
            # An ended listener stays attached until its socket handler leaves `listen`.
            if not listener.ended and not listener.offer(delivery):
                log.warning("events.client_too_slow", channel=channel)
                listener.end(TOO_SLOW)

    async def _reset(self, reason: StreamEnd) -> None:
        """End every local stream and drop the connection; the next listener starts afresh."""
        async with self._commands:
            for state in self._channels.values():
                for listener in state.listeners:
                    listener.end(reason)
                if not state.confirmed.done():
                    state.confirmed.set_exception(ConnectionError("event subscription lost"))
            self._channels.clear()
            self._unconfirmed.clear()
            pubsub, self._pubsub, self._reader = self._pubsub, None, None
            if pubsub is not None:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def close(self) -> None:
        reader = self._reader
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await self._reset(SHUTTING_DOWN)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@contextlib.asynccontextmanager
async def fanout_lifespan(app: Litestar) -> AsyncIterator[None]:
    """One fan-out per app, on the services' Redis; it connects on the first listener."""
    fanout = EventFanout(app.state.services.redis)
    app.state.event_fanout = fanout
    try:
        yield
    finally:
        await fanout.close()


def provide_fanout(state: State) -> EventFanout:
    return state.event_fanout
