"""The worker's job of this module: one attempt at a delivery. Its own queue, so a delivery never waits
behind a transcription, and one attempt per job: a retry is another job, deferred by the schedule."""

from typing import TYPE_CHECKING, Any

from reflector.domain.processing.models import JobPolicy

if TYPE_CHECKING:
    from reflector.domain.webhooks.service import WebhookService


async def deliver_webhook(ctx: dict[str, Any], delivery_id: str, attempt: int) -> str:
    webhooks: WebhookService = ctx["webhooks"]
    return await webhooks.attempt(delivery_id, attempt)


# An attempt takes at most the receiver's timeout (15 s) and a few queries.
DELIVER = JobPolicy(deliver_webhook, queue="webhooks", timeout_s=120, concurrency=8)  # type: ignore[arg-type]
JOBS = (DELIVER,)
