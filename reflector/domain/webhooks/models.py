"""What the webhooks module sends and keeps: the events' payloads (Reflector's shapes, wire-compatible), a
delivery (one event to a room's endpoint) and each attempt at it, and the ports it sends and queues through."""

from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec

from reflector.adapters.webhook_http import Answer
from reflector.domain.errors import NotFound

EventType = Literal["transcript.completed", "transcript.failed", "meeting.started", "meeting.ended", "test"]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]

# pending: an attempt is due (or running); succeeded: a 2xx; failed: given up (a 4xx, a refused target, a
# 3xx or 5xx past the last retry, a room without its webhook any more).
DeliveryStatus = Literal["pending", "succeeded", "failed"]
# What one attempt came to: success (2xx); retry (another attempt is scheduled); failed (no more attempts);
# disabled (410: the endpoint is disabled); refused (the target's address is not allowed).
AttemptOutcome = Literal["success", "retry", "failed", "disabled", "refused"]


# --- payloads (Reflector's server/reflector/utils/webhook.py shapes) --------------------------------------


class RoomRef(msgspec.Struct):
    id: str
    name: str


class TopicPayload(msgspec.Struct):
    title: str
    summary: str
    timestamp: float  # seconds
    duration: float  # seconds
    webvtt: str


class ParticipantPayload(msgspec.Struct):
    id: str
    name: str
    speaker: int | None


class Attendee(msgspec.Struct, omit_defaults=True):
    """A calendar attendee as the calendar stored it: Reflector declares strings here but stores objects,
    so its whole calendar block is dropped whenever anyone attends. We send the objects."""

    email: str | None = None
    name: str | None = None
    status: str | None = None
    role: str | None = None


class CalendarEventPayload(msgspec.Struct):
    id: str
    ics_uid: str | None
    title: str | None
    start_time: datetime | None
    end_time: datetime | None
    description: str | None
    location: str | None
    attendees: list[Attendee]


class TranscriptPayload(msgspec.Struct):
    id: str
    room_id: str | None
    created_at: datetime
    duration: float  # milliseconds, as Reflector
    title: str
    short_summary: str
    long_summary: str
    webvtt: str
    topics: list[TopicPayload]
    participants: list[ParticipantPayload]
    source_language: str
    target_language: str
    status: str
    frontend_url: str
    action_items: dict[str, Any]


class TranscriptCompleted(msgspec.Struct, omit_defaults=True):
    event: str
    event_id: str
    timestamp: datetime
    transcript: TranscriptPayload
    room: RoomRef
    calendar_event: CalendarEventPayload | None = None


class FailedTranscriptPayload(msgspec.Struct):
    id: str
    room_id: str | None
    created_at: datetime
    title: str
    status: str
    error: str
    frontend_url: str


class TranscriptFailed(msgspec.Struct):
    event: str
    event_id: str
    timestamp: datetime
    transcript: FailedTranscriptPayload
    room: RoomRef


class MeetingPayload(msgspec.Struct):
    id: str
    room_id: str
    platform: str
    room_name: str  # the platform's room
    start_date: datetime
    end_date: datetime
    num_clients: int
    is_active: bool
    calendar_event_id: str | None


class MeetingChanged(msgspec.Struct):
    event: str
    event_id: str
    timestamp: datetime
    meeting: MeetingPayload
    room: RoomRef


class TestEvent(msgspec.Struct):
    event: str
    event_id: str
    timestamp: datetime
    message: str
    room: RoomRef


Payload = TranscriptCompleted | TranscriptFailed | MeetingChanged | TestEvent


# --- the delivery log -------------------------------------------------------------------------------------


class AttemptView(msgspec.Struct, frozen=True):
    id: str
    delivery_id: str
    attempt: int  # 1 for the first
    endpoint: str
    at: datetime
    outcome: AttemptOutcome
    status_code: int | None
    latency_ms: int
    response_excerpt: str
    error: str


class DeliveryView(msgspec.Struct, frozen=True):
    """One event sent to a room's endpoint. `id` is the event's id: `webhook-id` and the body's `event_id`."""

    id: str
    room_id: str
    event_type: str
    endpoint: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeliveryDetail(msgspec.Struct, frozen=True):
    delivery: DeliveryView
    attempts: list[AttemptView]


class TestResult(msgspec.Struct, frozen=True):
    """What the owner's "Send test" shows: Reflector's answer of `POST …/webhook/test`."""

    success: bool
    message: str
    error: str | None
    status_code: int | None
    response_preview: str | None


# --- ports -------------------------------------------------------------------------------------------------


class Sender(Protocol):
    """Posts a body to a URL once, never following a redirect (adapters.webhook_http)."""

    async def post(self, url: str, body: bytes, headers: dict[str, str], *, timeout_s: float) -> Answer: ...


class DeliveryQueue(Protocol):
    """The job queue: an attempt of a delivery runs in a worker (jobs.DELIVER), after `defer_s` seconds."""

    async def enqueue(self, policy: Any, *args: Any, job_id: str, defer_s: float = 0) -> None: ...


class DeliveryNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Webhook delivery not found")
