"""The worker's job of this module: one attempt at sending one transcript to one address. One attempt per
job: after a temporary refusal the next attempt is another job, deferred by EMAIL_RETRY_SCHEDULE. It waits
on the queue of deliveries to outside servers (the webhooks'), which every default worker serves."""

from typing import TYPE_CHECKING, Any

from reflector.domain.processing.models import JobPolicy

if TYPE_CHECKING:
    from reflector.domain.emails.service import EmailService


async def send_transcript_email(
    ctx: dict[str, Any], send_id: str, transcript_id: str, to: str, recipient: str, attempt: int
) -> str:
    emails: EmailService = ctx["emails"]
    return await emails.send(send_id, transcript_id, to, recipient, attempt)  # type: ignore[arg-type]


# An attempt takes at most the SMTP timeout (30 s) per step of the conversation, and a few queries.
SEND = JobPolicy(send_transcript_email, queue="webhooks", timeout_s=300, concurrency=8)  # type: ignore[arg-type]
JOBS = (SEND,)
