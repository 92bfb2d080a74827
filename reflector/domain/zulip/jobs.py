"""The worker's job of this module: one attempt at a room's automatic post (a finished transcript, or the
notice of a failed run). One attempt per job: when Zulip is away the next is another job, deferred by
ZULIP_RETRY_SCHEDULE. It waits on the queue of deliveries to outside servers (the webhooks')."""

from typing import TYPE_CHECKING, Any

from reflector.domain.processing.models import JobPolicy

if TYPE_CHECKING:
    from reflector.domain.zulip.service import ZulipService


async def post_to_zulip(
    ctx: dict[str, Any], post_id: str, transcript_id: str, succeeded: bool, error: str, attempt: int
) -> str:
    zulip: ZulipService = ctx["zulip"]
    return await zulip.post_for_room(post_id, transcript_id, succeeded=succeeded, error=error, attempt=attempt)


# An attempt is at most two requests of ZULIP_TIMEOUT_S (15 s) and a few queries.
POST = JobPolicy(post_to_zulip, queue="webhooks", timeout_s=120, concurrency=8)  # type: ignore[arg-type]
JOBS = (POST,)
