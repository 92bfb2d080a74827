"""Processing runs as the rest of the product sees them."""

from datetime import datetime
from typing import Any, Literal

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


class JobPolicy(msgspec.Struct, frozen=True):
    """How the queue treats a job: which queue, how long it may run, how often it is tried."""

    name: str
    queue: str
    timeout_s: int
    max_tries: int = 1
