"""What an answer means for a delivery, as Standard Webhooks asks of a sender:

- 2xx: delivered.
- 410 Gone: the endpoint is disabled (nothing more is sent to it until its owner sets it again).
- 3xx: a failure, retried like a 5xx: a redirect is never followed (its target escapes the address check
  and a receiver that moved should be set anew).
- 408 and 429: retried, not before the receiver's `Retry-After` when it gives one.
- any other 4xx: this delivery failed for good (the receiver refused this event).
- 5xx, a timeout, no connection: retried; `Retry-After` honoured when given.
- an address we do not send to: failed for good.

Retries follow the schedule (Standard Webhooks': 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each delay
spread by +-10 % so that a receiver back from an outage is not hit by every sender at the same second.
"""

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import msgspec

from reflector.domain.webhooks.models import Answer

# A Retry-After past this is capped: a delivery does not wait a week for one receiver.
MAX_RETRY_AFTER_S = 24 * 3600.0
JITTER = 0.1

Verdict = Literal["success", "retry", "failed", "disabled", "refused"]


class Decision(msgspec.Struct, frozen=True):
    verdict: Verdict
    delay_s: float | None = None  # when the verdict is retry


def decide(answer: Answer, attempt_in_series: int, schedule: tuple[float, ...], rng: random.Random) -> Decision:
    """What to do after the `attempt_in_series`-th attempt (1 for the first) of the current series."""
    if answer.refused:
        return Decision("refused")
    status = answer.status
    if status is not None and 200 <= status < 300:
        return Decision("success")
    if status == 410:
        return Decision("disabled")
    if status is not None and 400 <= status < 500 and status not in (408, 429):
        return Decision("failed")
    if attempt_in_series > len(schedule):
        return Decision("failed")
    delay = schedule[attempt_in_series - 1] * rng.uniform(1 - JITTER, 1 + JITTER)
    asked = retry_after_s(answer.retry_after)
    if asked is not None:
        delay = max(delay, min(asked, MAX_RETRY_AFTER_S))
    return Decision("retry", delay)


def retry_after_s(value: str | None, at: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now: delay-seconds, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (at or datetime.now(UTC))).total_seconds())
