"""The video platforms' webhooks, at Reflector's paths: Daily (`/v1/daily/webhook`), Whereby
(`/v1/whereby`), LiveKit (`/v1/livekit/webhook`).

Open to anyone, because the signature over the RAW body is the authentication: a forged, stale or unsigned
request is 401 and changes nothing. Every authentic event is answered 2xx, whether we act on it, already
did (a redelivery: stored and processed once by its id), do not handle its type, or cannot read it (logged),
since Daily switches a webhook off after 3 failed deliveries. Daily's {"test":"test"} is answered 200.
"""

from collections.abc import Callable
from typing import Literal

import msgspec
import structlog
from litestar import Request, post
from litestar.exceptions import NotAuthorizedException

from reflector.adapters.platforms import ForgedWebhook
from reflector.bootstrap import Services
from reflector.domain.rooms.platform_events import ReceivedEvent
from reflector.platform_binding import daily_event, livekit_event, whereby_event

log = structlog.get_logger(__name__)


class WebhookReceived(msgspec.Struct):
    status: Literal["ok", "duplicate", "ignored"]


async def _receive(services: Services, verify: Callable[[], ReceivedEvent | None]) -> WebhookReceived:
    """Verify the request (a forgery is 401), then act on the event once; every authentic one is 2xx."""
    try:
        event = verify()
    except ForgedWebhook as forged:
        log.warning("platform_webhook.refused", platform=forged.platform, reason=forged.reason)
        raise NotAuthorizedException(f"{forged.platform} webhook refused: {forged.reason}") from None
    if event is None:
        return WebhookReceived(status="ok")
    outcome = await services.meetings.receive(event)
    if outcome == "duplicate":
        return WebhookReceived(status="duplicate")
    return WebhookReceived(status="ok" if outcome == "processed" else "ignored")


@post("/v1/daily/webhook", status_code=200, opt={"access": "open"})
async def daily_webhook(request: Request, services: Services) -> WebhookReceived:
    body, secret = await request.body(), services.settings.platforms.daily_webhook_secret
    return await _receive(services, lambda: daily_event(request.headers, body, secret))


@post("/v1/whereby", status_code=200, opt={"access": "open"})
async def whereby_webhook(request: Request, services: Services) -> WebhookReceived:
    body, secret = await request.body(), services.settings.platforms.whereby_webhook_secret
    return await _receive(services, lambda: whereby_event(request.headers, body, secret))


@post("/v1/livekit/webhook", status_code=200, opt={"access": "open"})
async def livekit_webhook(request: Request, services: Services) -> WebhookReceived:
    body = await request.body()
    return await _receive(services, lambda: livekit_event(request.headers, body, services.settings.platforms))


ROUTES = [daily_webhook, whereby_webhook, livekit_webhook]
