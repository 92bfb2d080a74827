"""Processing runs as the rest of the product sees them."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec

RunStatus = Literal["queued", "running", "succeeded", "failed"]


class RunView(msgspec.Struct, frozen=True):
    id: str
    transcript_id: str
    kind: str
    status: RunStatus
    step: str
    progress: float
    attempts: int
    crashes: int
    holder: str
    heartbeat_at: datetime | None
    error: str
    timings: dict[str, float]
    options: dict[str, Any]
    created_at: datetime


class RunListener(Protocol):
    """Told when a transcript's processing is over, succeeded or failed: the webhooks module, wired by the
    composition root, so that processing need not know who listens."""

    async def run_finished(self, transcript_id: str, *, succeeded: bool, error: str) -> None: ...


# A worker's job: called with the worker's context and a run id, it says how it ended.
JobFunction = Callable[[dict[str, Any], str], Awaitable[str]]


def queue_name(queue: str) -> str:
    """A queue's name in Redis, from its name in `reflector worker --queues`."""
    return f"reflector:{queue}"


class JobPolicy(msgspec.Struct, frozen=True):
    """A job and how the queue treats it: which queue it waits on, how long it may run, how often it is
    tried, how long its result is kept. Declared beside the job (jobs.py); the worker serves it from this
    and the queue names it from this."""

    function: JobFunction
    queue: str  # as `reflector worker --queues` names it
    timeout_s: int
    max_tries: int = 1
    keep_result_s: int = 3600
    # Jobs of its queue a worker process runs at once: one for the CPU-bound steps; more for jobs that
    # mostly wait (a webhook's receiver), so that one slow receiver does not hold up every room's events.
    concurrency: int = 1

    @property
    def name(self) -> str:
        return self.function.__name__

    @property
    def queue_name(self) -> str:
        return queue_name(self.queue)
