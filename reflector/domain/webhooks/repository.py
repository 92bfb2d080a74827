"""SQL for the webhooks module (piccolo). Returns Structs, takes plain values."""

from datetime import datetime
from typing import Any

import msgspec

from reflector.domain.ids import new_id, now
from reflector.domain.webhooks.models import AttemptView, DeliveryView
from reflector.domain.webhooks.tables import WebhookAttempt, WebhookDelivery

_DELIVERY_COLUMNS = [getattr(WebhookDelivery, name) for name in DeliveryView.__struct_fields__]
_ATTEMPT_COLUMNS = [getattr(WebhookAttempt, name) for name in AttemptView.__struct_fields__]


async def insert_delivery(delivery_id: str, room_id: str, event_type: str, body: bytes, endpoint: str) -> DeliveryView:
    # Due now: if its first job never reaches the queue (Redis away), the workers' sweep queues it.
    await WebhookDelivery(
        id=delivery_id,
        room_id=room_id,
        event_type=event_type,
        body=body,
        endpoint=endpoint,
        status="pending",
        next_attempt_at=now(),
    ).save()
    delivery = await get_delivery(delivery_id)
    assert delivery is not None
    return delivery


async def get_delivery(delivery_id: str) -> DeliveryView | None:
    row = await WebhookDelivery.select(*_DELIVERY_COLUMNS).where(WebhookDelivery.id == delivery_id).first()
    return msgspec.convert(row, DeliveryView) if row else None


async def body_of(delivery_id: str) -> bytes:
    row = await WebhookDelivery.select(WebhookDelivery.body).where(WebhookDelivery.id == delivery_id).first()
    return bytes(row["body"]) if row else b""


async def claim_attempt(delivery_id: str, attempt: int, lease_until: datetime) -> tuple[DeliveryView, int] | None:
    """Take the delivery's `attempt`-th attempt, once: None when it is no longer pending or that attempt was
    taken already (a job delivered twice, a redelivery racing a scheduled retry). Returns the delivery and
    the attempt's number within its current series. Until the attempt is recorded, `next_attempt_at` is
    `lease_until`: past it, the worker is taken as dead and the sweep queues the next attempt."""
    rows = await WebhookDelivery.raw(
        """
        UPDATE webhook_delivery SET attempts = {}, updated_at = {}, next_attempt_at = {}
         WHERE id = {} AND status = 'pending' AND attempts = {}
        RETURNING attempts - series_start AS in_series
        """,
        attempt,
        now(),
        lease_until,
        delivery_id,
        attempt - 1,
    )
    if not rows:
        return None
    delivery = await get_delivery(delivery_id)
    assert delivery is not None
    return delivery, rows[0]["in_series"]


async def record_attempt(delivery_id: str, values: dict[str, Any]) -> AttemptView:
    row = WebhookAttempt(id=new_id(), delivery_id=delivery_id, **values)
    await row.save()
    return msgspec.convert(
        {**{name: getattr(row, name) for name in AttemptView.__struct_fields__}, "delivery_id": delivery_id},
        AttemptView,
    )


async def update_delivery(delivery_id: str, values: dict[str, Any]) -> None:
    await WebhookDelivery.update({**values, "updated_at": now()}, force=True).where(WebhookDelivery.id == delivery_id)


async def restart(delivery_id: str) -> DeliveryView | None:
    """Pending again, a new series beginning after the attempts made so far (a redelivery)."""
    rows = await WebhookDelivery.raw(
        """
        UPDATE webhook_delivery SET status = 'pending', series_start = attempts, updated_at = {}, next_attempt_at = {}
         WHERE id = {} RETURNING id
        """,
        now(),
        now(),
        delivery_id,
    )
    return await get_delivery(delivery_id) if rows else None


async def deliveries_of(
    room_id: str, *, event_type: str | None, status: str | None, delivery_id: str | None, limit: int, offset: int
) -> tuple[list[DeliveryView], int]:
    where = WebhookDelivery.room_id == room_id
    if delivery_id:
        where = where & (WebhookDelivery.id == delivery_id)
    if event_type:
        where = where & (WebhookDelivery.event_type == event_type)
    if status:
        where = where & (WebhookDelivery.status == status)
    rows = (
        await WebhookDelivery.select(*_DELIVERY_COLUMNS)
        .where(where)
        .order_by(WebhookDelivery.created_at, ascending=False)
        .limit(limit)
        .offset(offset)
    )
    total = await WebhookDelivery.count().where(where)
    return [msgspec.convert(row, DeliveryView) for row in rows], total


async def attempts_of(delivery_ids: list[str]) -> list[AttemptView]:
    if not delivery_ids:
        return []
    rows = (
        await WebhookAttempt.select(*_ATTEMPT_COLUMNS)
        .where(WebhookAttempt.delivery_id.is_in(delivery_ids))
        .order_by(WebhookAttempt.attempt)
    )
    return [msgspec.convert(row, AttemptView) for row in rows]


async def overdue(before: datetime) -> list[tuple[str, int]]:
    """Pending deliveries whose next attempt should have run before `before`: a worker died holding it."""
    rows = await WebhookDelivery.raw(
        "SELECT id, attempts FROM webhook_delivery WHERE status = 'pending' AND next_attempt_at < {}", before
    )
    return [(row["id"], row["attempts"]) for row in rows]


async def forget_before(before: datetime) -> int:
    """Delete the deliveries that are over and were last touched before `before` (attempts go with them)."""
    rows = await WebhookDelivery.raw(
        "DELETE FROM webhook_delivery WHERE status <> 'pending' AND updated_at < {} RETURNING id", before
    )
    return len(rows)


async def counts() -> tuple[dict[str, int], dict[str, int]]:
    """Deliveries by status and attempts by outcome, for /metrics."""
    by_status = await WebhookDelivery.raw("SELECT status, count(*) AS n FROM webhook_delivery GROUP BY status")
    by_outcome = await WebhookAttempt.raw("SELECT outcome, count(*) AS n FROM webhook_attempt GROUP BY outcome")
    return {r["status"]: r["n"] for r in by_status}, {r["outcome"]: r["n"] for r in by_outcome}
