"""PostgreSQL tables of the webhooks module: each event sent to a room's endpoint (a delivery) and every
attempt at it, kept for the room's delivery log."""

from piccolo.columns import Bytea, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from reflector.domain.ids import new_id, now


class WebhookDelivery(Table, tablename="webhook_delivery"):
    # The event's id: `webhook-id` and the body's `event_id`, the same on every attempt and redelivery.
    id = Varchar(length=64, primary_key=True, default=new_id)
    # Refers to the room (ON DELETE CASCADE, written by the migration: the rooms module owns its table).
    room_id = Varchar(length=36, index=True)
    event_type = Varchar(length=32)
    body = Bytea()  # the exact bytes signed and sent, every time
    endpoint = Text(default="")  # the URL of the latest attempt (or of the room when it was queued)
    status = Varchar(length=16, default="pending")  # pending | succeeded | failed
    attempts = Integer(default=0)  # attempts made
    # The attempt number after which the current series began: a redelivery starts the schedule again.
    series_start = Integer(default=0)
    last_status_code = Integer(null=True, default=None)
    next_attempt_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=now)
    updated_at = Timestamptz(default=now)


class WebhookAttempt(Table, tablename="webhook_attempt"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    delivery_id = ForeignKey(references=WebhookDelivery, on_delete=OnDelete.cascade, index=True)
    attempt = Integer()
    endpoint = Text(default="")
    at = Timestamptz(default=now)
    outcome = Varchar(length=16)  # success | retry | failed | disabled | refused
    status_code = Integer(null=True, default=None)
    latency_ms = Integer(default=0)
    response_excerpt = Text(default="")  # at most EXCERPT_BYTES of the receiver's answer
    error = Text(default="")
