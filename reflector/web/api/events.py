"""Live events over WebSocket, as Reflector's: a transcript's channel and the caller's user channel.

Each message is Reflector's envelope `{"event": ..., "data": ...}`. The GET handlers on the same paths
exist only to document the event unions in OpenAPI (as Reflector's stubs do); they answer 426.
"""

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeAlias

import msgspec
import structlog
from litestar import WebSocket, get, websocket
from litestar.di import Provide
from litestar.exceptions import HTTPException, WebSocketDisconnect

from reflector.adapters.events import ACCESS_CHANNEL, TranscriptEventMessage, transcript_channel, user_channel
from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller
from reflector.domain.events import (
    CaptionEvent,
    TranscriptWsEvent,
    TranslationData,
    TranslationEvent,
    UserWsEvent,
    name_of,
)
from reflector.domain.live.languages import caption_languages
from reflector.domain.transcripts.models import TranscriptNotFound
from reflector.web.deps import provide_caller, recheck, socket_refusal
from reflector.web.ws import Delivery, EventFanout, Listener, StreamEnd, client_frame, provide_fanout

log = structlog.get_logger(__name__)

NOT_FOUND = StreamEnd(4404, "Transcript not found")
EXPIRED = StreamEnd(4401, "Signed out: the session or token expired")
CLOSE_TIMEOUT_S = 5.0
# How often an open socket's caller is checked again even when no access change was announced.
RECHECK_S = 60.0


def _websocket_only() -> HTTPException:
    return HTTPException(
        status_code=426,
        detail="Open a WebSocket on this path to receive these events",
        headers={"Upgrade": "websocket", "Connection": "Upgrade"},
    )


@get(
    "/v1/transcripts/{transcript_id:str}/events",
    tags=["transcripts"],
    summary="Transcript WebSocket event schema",
    opt={"access": "open"},  # it only ever answers 426, for any id: it shows nothing of a transcript
)
async def transcript_get_websocket_events(transcript_id: str) -> TranscriptWsEvent:
    """Documents the events sent over the WebSocket at this path."""
    raise _websocket_only()


@get("/v1/events", tags=["user"], summary="User WebSocket event schema", opt={"access": "member"})
async def user_get_websocket_events() -> UserWsEvent:
    """Documents the events sent over the WebSocket at this path."""
    raise _websocket_only()


# --- The WebSockets ---

_FANOUT = {"fanout": Provide(provide_fanout, sync_to_thread=False)}


@websocket("/v1/transcripts/{transcript_id:str}/events", dependencies=_FANOUT, opt={"access": "read"})
async def transcript_events_websocket(
    socket: WebSocket[Any, Any, Any], transcript_id: str, services: Services, fanout: EventFanout
) -> None:
    """The transcript's stored event log, then its live events, with no gap and no repeat.

    Unlike Reflector, which leaves TRANSCRIPT and STATUS out of its replay, the whole stored log is
    replayed in order, so a late subscriber learns the current status too. The channel is subscribed
    before the log is read; a live event already replayed (same log id) is skipped. Live captions come
    in Reflector's shape unless the socket asks for ours with `?partials=true` (see `caption_view`).
    """
    if await _refused(socket, socket_refusal(socket.scope)):
        return
    try:
        transcript = await services.transcripts.get(transcript_id)
    except TranscriptNotFound:
        # Accepted first so the client sees the code and reason, not a failed handshake.
        await _accept(socket)
        await _close(socket, NOT_FOUND)
        return
    partials = socket.query_params.get("partials", "").lower() in ("1", "true")
    view = functools.partial(caption_view, partials=partials, translated=caption_languages(transcript)[1] is not None)
    async with fanout.listen(transcript_channel(transcript_id)) as listener, fanout.listen(ACCESS_CHANNEL) as notices:
        # Checked once more now that access changes are heard: one made between the handshake's check and
        # the subscription would otherwise go unnoticed until the next periodic check.
        if await _refused(socket, await recheck(socket, provide_caller(socket.scope))):
            return
        await _accept(socket)
        replay = await services.transcripts.event_log(transcript_id)
        await _serve(socket, listener, replay, _keep_checking(socket, notices, transcript_id), view)


@websocket("/v1/events", dependencies=_FANOUT, opt={"access": "member"})
async def user_events_websocket(socket: WebSocket[Any, Any, Any], user_id: str | None, fanout: EventFanout) -> None:
    """The caller's transcripts being created, deleted, changing status, title or duration."""
    if await _refused(socket, socket_refusal(socket.scope)):
        return
    if user_id is None:
        # Reflector's code for a caller it cannot identify.
        await _accept(socket)
        await _close(socket, StreamEnd(4401, "Not authenticated"))
        return
    async with fanout.listen(user_channel(user_id)) as listener, fanout.listen(ACCESS_CHANNEL) as notices:
        # Checked once more now that access changes are heard, as on a transcript's socket.
        if await _refused(socket, await recheck(socket, provide_caller(socket.scope))):
            return
        await _accept(socket)
        await _serve(socket, listener, [], _keep_checking(socket, notices, None))


def caption_view(message: TranscriptEventMessage, *, partials: bool, translated: bool) -> TranscriptEventMessage | None:
    """What a socket is sent of `message`: itself, Reflector's shape of it, or nothing (None).

    Partial captions (several a second) go only to a socket that asked for them (`?partials=true`, the
    record page): Reflector's clients take every TRANSCRIPT as a new sentence to show. And they show a
    caption's translation under it, from the TRANSCRIPT's `translation`, as its live path sent it: on a
    translated recording they are sent each caption once its TRANSLATION is written, in that shape."""
    if message.event == _CAPTION and message.data.get("final") is False:
        return message if partials else None
    if partials or not translated or message.event not in (_CAPTION, _TRANSLATION):
        return message
    if message.event == _CAPTION:
        return None
    data = msgspec.convert(message.data, TranslationData)
    caption = {"text": data.text, "translation": data.translation, "final": True, "index": data.index}
    return TranscriptEventMessage(event=_CAPTION, data=caption, id=message.id)


_CAPTION, _TRANSLATION = name_of(CaptionEvent), name_of(TranslationEvent)


def _as_sent(message: TranscriptEventMessage) -> TranscriptEventMessage:
    return message


async def _refused(socket: WebSocket[Any, Any, Any], refusal: tuple[int, str] | None) -> bool:
    """Close a socket the caller may not open, with Reflector's codes (4401, 4403, 4404) and the reason."""
    if refusal is None:
        return False
    await _accept(socket)
    await _close(socket, StreamEnd(*refusal))
    return True


async def _keep_checking(socket: WebSocket[Any, Any, Any], notices: Listener, transcript_id: str | None) -> StreamEnd:
    """Access is not decided once at the handshake: the caller is checked again whenever an access change
    that may concern this socket is announced, every RECHECK_S in case an announcement was lost (Redis
    restarting), and the socket ends when its session or token does. Returns why the socket must close."""
    caller = provide_caller(socket.scope)
    while True:
        wait = RECHECK_S
        if caller.expires_at is not None:
            wait = min(wait, caller.expires_at - time.time())
            if wait <= 0:
                return EXPIRED
        try:
            async with asyncio.timeout(wait):
                item = await notices.next()
        except TimeoutError:
            item = None
        if isinstance(item, StreamEnd):
            return item
        if item is not None and not _concerns(item.message.data, transcript_id, caller):
            continue
        refusal = await recheck(socket, caller)
        if refusal is not None:
            log.info("events.access_withdrawn", path=socket.scope["path"], user_id=caller.user_id, code=refusal[0])
            return StreamEnd(*refusal)


def _concerns(change: dict[str, Any], transcript_id: str | None, caller: Caller) -> bool:
    return (transcript_id is not None and change.get("transcript_id") == transcript_id) or (
        caller.user_id is not None and change.get("user_id") == caller.user_id
    )


async def _accept(socket: WebSocket[Any, Any, Any]) -> None:
    """Complete the handshake. Handlers subscribe first, so a client that has connected hears every
    event published after that."""
    # Browsers cannot set headers on a WebSocket, so Reflector's clients offer ["bearer", <token>] as
    # subprotocols; the handshake must name one of them back.
    offered = socket.scope.get("subprotocols") or []
    await socket.accept(subprotocols="bearer" if "bearer" in offered else None)


View: TypeAlias = Callable[[TranscriptEventMessage], TranscriptEventMessage | None]


async def _serve(
    socket: WebSocket[Any, Any, Any],
    listener: Listener,
    replay: list[TranscriptEventMessage],
    watch: Coroutine[Any, Any, StreamEnd],
    view: View = _as_sent,
) -> None:
    """Forward until the client leaves, the stream ends or access is withdrawn; never leaves a task behind."""
    receiving = asyncio.create_task(_until_client_leaves(socket))
    sending = asyncio.create_task(_forward(socket, listener, replay, view))
    watching = asyncio.create_task(watch)
    tasks = (receiving, watching, sending)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    # Access withdrawn wins over whatever the forwarder was doing at that moment.
    for end in results[1:]:
        if isinstance(end, StreamEnd):
            await _close(socket, end)
            return
    for end in results[1:]:
        if isinstance(end, Exception) and not isinstance(end, asyncio.CancelledError):
            log.error("events.forward_failed", channel=listener.channel, exc_info=end)
            await _close(socket, StreamEnd(1011, "Internal error"))
            return


async def _until_client_leaves(socket: WebSocket[Any, Any, Any]) -> None:
    # Client messages mean nothing here; reading them is how a disconnect is noticed.
    with contextlib.suppress(WebSocketDisconnect):
        while (await socket.receive())["type"] != "websocket.disconnect":
            pass


async def _forward(
    socket: WebSocket[Any, Any, Any], listener: Listener, replay: list[TranscriptEventMessage], view: View
) -> StreamEnd | None:
    replayed: set[int] = set()
    try:
        for message in replay:
            if (shown := view(message)) is not None:
                await socket.send_data(client_frame(shown))
            if message.id is not None:
                replayed.add(message.id)
        while True:
            item = await listener.next()
            if isinstance(item, StreamEnd):
                return item
            if _already_sent(item, replayed):
                continue
            shown = view(item.message)
            if shown is item.message:
                await socket.send_data(item.frame)  # as encoded once for every socket
            elif shown is not None:
                await socket.send_data(client_frame(shown))
    except (WebSocketDisconnect, OSError):
        return None


def _already_sent(delivery: Delivery, replayed: set[int]) -> bool:
    # Set membership, not "id <= last replayed": rows of concurrent writers may commit out of id order.
    return delivery.event_id is not None and delivery.event_id in replayed


async def _close(socket: WebSocket[Any, Any, Any], end: StreamEnd) -> None:
    with contextlib.suppress(WebSocketDisconnect, OSError, TimeoutError):
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await socket.close(code=end.code, reason=end.reason)


ROUTES = [
    transcript_get_websocket_events,
    user_get_websocket_events,
    transcript_events_websocket,
    user_events_websocket,
]
