"""A room's outbound webhook, for its owner: Reflector's test route (`POST …/webhook/test`, its answer's
shape), and what Reflector lacks: the delivery log and redelivery of an event under its own id."""

import math
from datetime import datetime
from typing import Annotated, ClassVar

import msgspec
from litestar import Controller, get, post
from litestar.params import QueryParameter

from reflector.bootstrap import Services
from reflector.domain.webhooks.models import DeliveryDetail, DeliveryStatus, EventType
from reflector.web.api import schemas as s


class WebhookTestResult(msgspec.Struct):
    success: bool
    message: str
    error: str | None
    status_code: int | None
    response_preview: str | None


class RotatedSecret(msgspec.Struct):
    webhook_secret: str  # the new secret, shown to the owner here (and by GET /v1/rooms/{id})
    previous_valid_until: datetime | None  # until when the old secret still signs beside it


class WebhookAttempt(msgspec.Struct):
    attempt: int
    at: datetime
    endpoint: str
    outcome: str  # success | retry | failed | disabled | refused
    status_code: int | None
    latency_ms: int
    response_excerpt: str
    error: str


class WebhookDelivery(msgspec.Struct):
    id: str  # the event's id: its `webhook-id` and `event_id`
    event: str
    status: DeliveryStatus
    endpoint: str
    attempts: int
    last_status_code: int | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempt_log: list[WebhookAttempt]


class WebhookDeliveriesPage(msgspec.Struct):
    items: list[WebhookDelivery]
    total: int
    page: int
    size: int
    pages: int


def delivery_of(detail: DeliveryDetail) -> WebhookDelivery:
    d = detail.delivery
    return WebhookDelivery(
        id=d.id,
        event=d.event_type,
        status=d.status,
        endpoint=d.endpoint,
        attempts=d.attempts,
        last_status_code=d.last_status_code,
        next_attempt_at=d.next_attempt_at,
        created_at=d.created_at,
        updated_at=d.updated_at,
        attempt_log=[
            msgspec.convert(msgspec.structs.asdict(a), WebhookAttempt, from_attributes=True) for a in detail.attempts
        ],
    )


class RoomWebhooksController(Controller):
    path = "/v1/rooms"
    tags: ClassVar[list[str]] = ["rooms"]
    opt: ClassVar[dict[str, str]] = {"access": "room_owner"}

    @post("/{room_id:str}/webhook/test", status_code=200)
    async def rooms_test_webhook(self, services: Services, room_id: str) -> WebhookTestResult:
        """Send a `test` event now, once; the answer says what the endpoint replied."""
        result = await services.webhooks.send_test(await services.rooms.get(room_id))
        return msgspec.convert(msgspec.structs.asdict(result), WebhookTestResult)

    @post("/{room_id:str}/webhook/rotate", status_code=200)
    async def rooms_rotate_webhook_secret(self, services: Services, room_id: str) -> RotatedSecret:
        """A new `whsec_` secret; deliveries carry signatures by both for WEBHOOK_ROTATION_GRACE_S (24 h)."""
        room = await services.webhooks.rotate_secret(room_id)
        assert room.webhook_secret is not None
        return RotatedSecret(webhook_secret=room.webhook_secret, previous_valid_until=room.webhook_previous_until)

    @get("/{room_id:str}/webhooks/deliveries")
    async def rooms_webhook_deliveries(
        self,
        services: Services,
        room_id: str,
        event: EventType | None = None,
        status: DeliveryStatus | None = None,
        page: Annotated[int, QueryParameter(ge=1, le=s.MAX_PAGE)] = 1,
        size: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
    ) -> WebhookDeliveriesPage:
        """The room's deliveries, newest first, each with every attempt."""
        found, total = await services.webhooks.deliveries(
            room_id, event_type=event, status=status, limit=size, offset=(page - 1) * size
        )
        return WebhookDeliveriesPage(
            items=[delivery_of(d) for d in found], total=total, page=page, size=size, pages=math.ceil(total / size)
        )

    @post("/{room_id:str}/webhooks/deliveries/{delivery_id:str}/redeliver", status_code=202)
    async def rooms_webhook_redeliver(self, services: Services, room_id: str, delivery_id: str) -> WebhookDelivery:
        """The same event, same id and body, sent again on a fresh retry schedule."""
        await services.webhooks.redeliver(room_id, delivery_id)
        found, _ = await services.webhooks.deliveries(room_id, delivery_id=delivery_id)
        return delivery_of(found[0])


ROUTES = [RoomWebhooksController]
