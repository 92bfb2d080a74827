"""A room's outbound webhooks: the use cases the processing and rooms modules, the API and the pages call.

An event for a room with a webhook URL becomes a delivery: its body encoded once (the exact bytes signed
and sent on every attempt and redelivery) under one id (`webhook-id`, the body's `event_id`), and its first
attempt queued. Each attempt is a job (jobs.py) that signs the body with the room's current secret, posts
it (never following a redirect, refusing addresses that are not public unless the settings allow them),
stores what happened and, as policy.py decides, queues the next attempt on the retry schedule, gives up,
or disables the room's endpoint after a 410. The secret is never logged.
"""

import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import msgspec
import structlog

from reflector.domain.errors import NotFound
from reflector.domain.ids import looks_like_id, now
from reflector.domain.rooms.calendar import CalendarEventView
from reflector.domain.rooms.calendar_sync import CalendarService
from reflector.domain.rooms.models import MeetingView, NoWebhookUrl, RoomView
from reflector.domain.rooms.service import MeetingService, RoomService
from reflector.domain.transcripts.service import TranscriptService
from reflector.domain.webhooks import payloads, policy, signing
from reflector.domain.webhooks import repository as repo
from reflector.domain.webhooks.jobs import DELIVER
from reflector.domain.webhooks.models import (
    Answer,
    AttemptView,
    DeliveryDetail,
    DeliveryNotFound,
    DeliveryQueue,
    DeliveryView,
    Payload,
    Sender,
    TestResult,
)
from reflector.settings import WebhookSettings

log = structlog.get_logger(__name__)

# Builds an event's payload from its id and time.
Build = Callable[[str, datetime], Awaitable[Payload]]
# What a worker may take for one attempt before it is taken as dead and the next attempt is queued.
LEASE_MARGIN_S = 60.0


class WebhookService:
    def __init__(
        self,
        rooms: RoomService,
        transcripts: TranscriptService,
        sender: Sender,
        queue: DeliveryQueue,
        settings: WebhookSettings,
        base_url: str,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._rooms = rooms
        self._transcripts = transcripts
        self._sender = sender
        self._queue = queue
        self._settings = settings
        self._base_url = base_url
        self._rng = rng or random.Random()
        # Set by the composition root once built (it listens to the meetings it looks up).
        self.meetings: MeetingService | None = None
        self.calendars: CalendarService | None = None

    # --- events ------------------------------------------------------------------------------------------

    async def run_finished(self, transcript_id: str, *, succeeded: bool, error: str) -> None:
        """A transcript's processing is over: its room (if any) hears `transcript.completed` or `.failed`."""
        transcript = await self._transcripts.get(transcript_id)
        room = await self._rooms.find(transcript.room_id)
        if room is None:
            return
        if succeeded:
            meeting = await self._meeting_or_none(transcript.meeting_id)
            calendar = await self._calendar_event_or_none(meeting)

            async def completed(event_id: str, at: datetime) -> Payload:
                return await payloads.transcript_completed(
                    self._transcripts,
                    transcript,
                    room,
                    meeting,
                    event_id=event_id,
                    at=at,
                    base_url=self._base_url,
                    calendar=calendar,
                )

            await self.emit(room, "transcript.completed", completed)
        else:

            async def failed(event_id: str, at: datetime) -> Payload:
                return payloads.transcript_failed(
                    transcript, room, error=error, event_id=event_id, at=at, base_url=self._base_url
                )

            await self.emit(room, "transcript.failed", failed)

    async def meeting_started(self, room: RoomView, meeting: MeetingView) -> None:
        await self._meeting_event("meeting.started", room, meeting)

    async def meeting_ended(self, room: RoomView, meeting: MeetingView) -> None:
        await self._meeting_event("meeting.ended", room, meeting)

    async def _meeting_event(self, event: str, room: RoomView, meeting: MeetingView) -> None:
        async def changed(event_id: str, at: datetime) -> Payload:
            return payloads.meeting_changed(event, room, meeting, event_id=event_id, at=at)

        await self.emit(room, event, changed)

    async def emit(self, room: RoomView, event: str, build: Build) -> DeliveryView | None:
        """A delivery of the event to the room's endpoint, its first attempt queued; None when the room has
        no webhook or its receiver disabled it (410)."""
        if not room.webhook_url:
            return None
        if room.webhook_disabled_at is not None:
            log.info("webhook.skipped", room_id=room.id, event_type=event, reason="endpoint disabled (410)")
            return None
        if room.webhook_events is not None and event not in room.webhook_events:
            return None  # its owner asked for other events only
        delivery = await self._store(room, event, build)
        await self._queue.enqueue(DELIVER, delivery.id, 1, job_id=f"webhook:{delivery.id}:1")
        log.info("webhook.queued", room_id=room.id, delivery_id=delivery.id, event_type=event)
        return delivery

    async def _store(self, room: RoomView, event: str, build: Build) -> DeliveryView:
        event_id = uuid.uuid4().hex
        payload = await build(event_id, now())
        body = msgspec.json.encode(payload)
        return await repo.insert_delivery(event_id, room.id, event, body, room.webhook_url or "")

    # --- attempts ----------------------------------------------------------------------------------------

    async def attempt(self, delivery_id: str, attempt: int, *, retries: bool = True) -> str:
        """The delivery's `attempt`-th attempt, once; what it came to (`skipped`: not due any more)."""
        done = await self._attempt(delivery_id, attempt, retries=retries)
        return done.outcome if done else "skipped"

    async def _attempt(
        self, delivery_id: str, attempt: int, *, retries: bool, even_disabled: bool = False
    ) -> AttemptView | None:
        timeout = self._settings.timeout_s
        lease = now() + timedelta(seconds=timeout + LEASE_MARGIN_S)
        claimed = await repo.claim_attempt(delivery_id, attempt, lease)
        if claimed is None:
            log.info("webhook.attempt_skipped", delivery_id=delivery_id, attempt=attempt)
            return None
        delivery, in_series = claimed
        room = await self._rooms.find(delivery.room_id)
        disabled = room is not None and room.webhook_disabled_at is not None and not even_disabled
        if room is None or not room.webhook_url or disabled:
            reason = (
                "The room's endpoint was disabled after it answered 410 Gone"
                if room and room.webhook_url
                else "The room has no webhook URL any more"
            )
            return await self._conclude(delivery, attempt, delivery.endpoint, policy.Decision("failed"), None, reason)
        url, secret = room.webhook_url, room.webhook_secret
        body = await repo.body_of(delivery_id)
        timestamp = int(time.time())
        in_grace = room.webhook_previous_until is not None and room.webhook_previous_until > now()
        headers = signing.headers(
            event=delivery.event_type, webhook_id=delivery.id, attempt=attempt, timestamp=timestamp, body=body,
            secret=secret, previous=room.webhook_previous_secret if in_grace else None,
        )  # fmt: skip
        answer = await self._sender.post(url, body, headers, timeout_s=timeout)
        decision = policy.decide(answer, in_series, self._settings.retry_delays if retries else (), self._rng)
        done = await self._conclude(delivery, attempt, url, decision, answer, answer.error)
        if decision.verdict == "disabled":
            await self._rooms.disable_webhook(room.id, f"{url} answered 410 Gone on {now():%Y-%m-%d %H:%M} UTC")
        return done

    async def _conclude(
        self,
        delivery: DeliveryView,
        attempt: int,
        url: str,
        decision: policy.Decision,
        answer: Answer | None,
        error: str,
    ) -> AttemptView:
        status_code = answer.status if answer else None
        done = await repo.record_attempt(
            delivery.id,
            {
                "attempt": attempt,
                "endpoint": url,
                "outcome": decision.verdict,
                "status_code": status_code,
                "latency_ms": answer.latency_ms if answer else 0,
                "response_excerpt": answer.excerpt if answer else "",
                "error": error,
            },
        )
        status = {"success": "succeeded", "retry": "pending"}.get(decision.verdict, "failed")
        due = now() + timedelta(seconds=decision.delay_s) if decision.delay_s is not None else None
        await repo.update_delivery(
            delivery.id, {"status": status, "last_status_code": status_code, "endpoint": url, "next_attempt_at": due}
        )
        log.info(
            "webhook.attempted",
            delivery_id=delivery.id,
            room_id=delivery.room_id,
            event_type=delivery.event_type,
            attempt=attempt,
            status_code=status_code,
            outcome=decision.verdict,
            latency_ms=done.latency_ms,
            retry_in_s=round(decision.delay_s, 1) if decision.delay_s is not None else None,
            error=error or None,
        )
        if decision.verdict == "retry" and decision.delay_s is not None:
            await self._queue.enqueue(
                DELIVER,
                delivery.id,
                attempt + 1,
                job_id=f"webhook:{delivery.id}:{attempt + 1}",
                defer_s=decision.delay_s,
            )
        return done

    async def sweep(self) -> int:
        """Queue again the deliveries whose attempt is overdue (a worker died in it, Redis lost the job), and
        forget the ones over for longer than the log keeps them (WEBHOOK_LOG_DAYS)."""
        forgotten = await repo.forget_before(now() - timedelta(days=self._settings.log_days))
        if forgotten:
            log.info("webhooks.log_trimmed", deliveries=forgotten)
        overdue = await repo.overdue(now() - timedelta(seconds=LEASE_MARGIN_S))
        for delivery_id, attempts in overdue:
            await self._queue.enqueue(
                DELIVER, delivery_id, attempts + 1, job_id=f"webhook:{delivery_id}:{attempts + 1}:sweep"
            )
        return len(overdue)

    # --- the owner's actions ----------------------------------------------------------------------------

    async def send_test(self, room: RoomView) -> TestResult:
        """A `test` event sent now, once (no retries), and kept in the log like any other."""
        if not room.webhook_url:
            raise NoWebhookUrl()

        async def ping(event_id: str, at: datetime) -> Payload:
            return payloads.test_event(room, event_id=event_id, at=at)

        delivery = await self._store(room, "test", ping)
        # A test goes even to an endpoint disabled by a 410: the owner is checking it.
        done = await self._attempt(delivery.id, 1, retries=False, even_disabled=True)
        assert done is not None  # a new delivery's first attempt is always ours
        ok = done.outcome == "success"
        code = done.status_code
        error = None if ok else (done.error or f"The endpoint answered {code}")
        return TestResult(
            success=ok,
            message="Test webhook sent successfully" if ok else f"Test webhook failed: {error}",
            error=error,
            status_code=code,
            response_preview=done.response_excerpt or None,
        )

    async def rotate_secret(self, room_id: str) -> RoomView:
        """A new secret for the room's webhook; the old one signs beside it for the grace period."""
        return await self._rooms.rotate_webhook_secret(room_id, timedelta(seconds=self._settings.rotation_grace_s))

    async def redeliver(self, room_id: str, delivery_id: str) -> DeliveryView:
        """The same event (same id, same body) sent again, on a fresh retry schedule."""
        delivery = await self._delivery_in(room_id, delivery_id)
        room = await self._rooms.get(room_id)
        if not room.webhook_url:
            raise NoWebhookUrl()
        restarted = await repo.restart(delivery.id)
        assert restarted is not None
        attempt = restarted.attempts + 1
        await self._queue.enqueue(DELIVER, delivery.id, attempt, job_id=f"webhook:{delivery.id}:{attempt}:again")
        log.info("webhook.redelivery_queued", delivery_id=delivery.id, room_id=room_id, attempt=attempt)
        return restarted

    async def deliveries(
        self,
        room_id: str,
        *,
        event_type: str | None = None,
        status: str | None = None,
        delivery_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[DeliveryDetail], int]:
        """The room's deliveries, newest first, each with its attempts (filtered by event type, status, id)."""
        found, total = await repo.deliveries_of(
            room_id, event_type=event_type, status=status, delivery_id=delivery_id, limit=limit, offset=offset
        )
        attempts = await repo.attempts_of([d.id for d in found])
        by_delivery: dict[str, list[AttemptView]] = {}
        for a in attempts:
            by_delivery.setdefault(a.delivery_id, []).append(a)
        return [DeliveryDetail(delivery=d, attempts=by_delivery.get(d.id, [])) for d in found], total

    async def body_of(self, delivery_id: str) -> bytes:
        """The exact bytes the delivery sends."""
        return await repo.body_of(delivery_id)

    async def _delivery_in(self, room_id: str, delivery_id: str) -> DeliveryView:
        delivery = await repo.get_delivery(delivery_id) if looks_like_id(delivery_id) else None
        if delivery is None or delivery.room_id != room_id:
            raise DeliveryNotFound()
        return delivery

    async def figures(self) -> tuple[dict[str, int], dict[str, int]]:
        """Deliveries by status, attempts by outcome (every status and outcome named, 0 when none)."""
        by_status, by_outcome = await repo.counts()
        statuses = {s: by_status.get(s, 0) for s in ("pending", "succeeded", "failed")}
        outcomes = {o: by_outcome.get(o, 0) for o in ("success", "retry", "failed", "disabled", "refused")}
        return statuses, outcomes

    # --- lookups -----------------------------------------------------------------------------------------

    async def _calendar_event_or_none(self, meeting: MeetingView | None) -> CalendarEventView | None:
        if meeting is None or meeting.calendar_event_id is None or self.calendars is None:
            return None
        return await self.calendars.event(meeting.calendar_event_id)

    async def _meeting_or_none(self, meeting_id: str | None) -> MeetingView | None:
        if meeting_id is None or self.meetings is None:
            return None
        try:
            return await self.meetings.get(meeting_id)
        except NotFound:
            return None
