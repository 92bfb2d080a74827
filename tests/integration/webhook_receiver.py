"""A room's webhook receiver on 127.0.0.1 for the tests: it checks both signatures of every request it gets
(Reflector's `X-Webhook-Signature` by its documented recipe, Standard Webhooks' with the `standardwebhooks`
reference library), keeps them, and answers from a script (503, 410, 429 with Retry-After, 301, a hang)."""

import asyncio
import hashlib
import hmac
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook

from tests.platforms.fake_server import FakePlatform, FakeRequest, Reply


@dataclass
class Received:
    request: FakeRequest
    at: float  # time.monotonic() when it arrived
    reflector_ok: bool
    standard_ok: bool

    @property
    def webhook_id(self) -> str:
        return self.request.headers["webhook-id"]

    def json(self) -> Any:
        return self.request.json()


@dataclass
class Step:
    """One scripted answer: a status (and headers), after `hang_s` seconds of silence."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0


def reflector_signature_ok(secret: str, header: str, body: bytes) -> bool:
    """Reflector's receiver-side check: `t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>`; any of several
    `v1=` (Stripe's convention while a secret is rotated) may match."""
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamp = next((value for key, value in parts if key == "t"), "")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(key == "v1" and hmac.compare_digest(expected, value) for key, value in parts)


class Receiver(FakePlatform):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        self.script: deque[Step] = deque()
        self.received: list[Received] = []

    @property
    def url(self) -> str:
        return f"{self.base_url}/hook"

    def answer_with(self, *steps: Step) -> None:
        """The next requests' answers, in order; 200 once they are used up."""
        self.script.extend(steps)

    async def answer(self, request: FakeRequest) -> Reply:
        standard_ok = True
        try:
            Webhook(self.secret).verify(request.body, request.headers)
        except Exception:
            standard_ok = False
        reflector_ok = reflector_signature_ok(self.secret, request.headers.get("x-webhook-signature", ""), request.body)
        self.received.append(Received(request, time.monotonic(), reflector_ok, standard_ok))
        step = self.script.popleft() if self.script else Step()
        if step.hang_s:
            await asyncio.sleep(step.hang_s)
        return Reply(step.status, {"status": step.status, "padding": "x" * 3000}, step.headers)

    async def wait_for(self, count: int, within_s: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + within_s
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} requests arrived within {within_s} s, not {count}")
            await asyncio.sleep(0.05)
        return self.received
