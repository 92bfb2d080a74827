"""Posting a webhook to a receiver: one request, no redirect followed, no address that is not public
(public_network.py checks each address where the connection is made). httpcore never follows
redirects, so a 3xx is only an answer.
"""

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import httpcore
import msgspec

from reflector.adapters.public_network import GuardedBackend, TargetRefused

# The most of a receiver's answer that is kept.
EXCERPT_BYTES = 1024


class Answer(msgspec.Struct, frozen=True):
    """What a receiver answered one attempt (`status` None: no answer: refused, timed out, unreachable)."""

    status: int | None
    latency_ms: int
    excerpt: str = ""
    retry_after: str | None = None
    error: str = ""
    refused: bool = False  # the target's address (or scheme) is not one we send to


class WebhookHttp:
    """The webhooks module's Sender: a fresh connection per attempt (receivers are many and seldom hit)."""

    def __init__(self, *, allow_private: bool) -> None:
        self._backend = GuardedBackend(allow_private=allow_private, setting="WEBHOOK_ALLOW_PRIVATE_TARGETS")

    async def post(self, url: str, body: bytes, headers: dict[str, str], *, timeout_s: float) -> Answer:
        started = time.monotonic()

        def answer(**values: Any) -> Answer:
            return Answer(latency_ms=round((time.monotonic() - started) * 1000), **values)

        if urlsplit(url).scheme not in ("http", "https"):
            return answer(status=None, error=f"{url!r} is not an http(s) URL", refused=True)
        limits = {"connect": timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s}
        try:
            async with (
                asyncio.timeout(timeout_s),
                httpcore.AsyncConnectionPool(network_backend=self._backend, retries=0) as pool,
                pool.stream(
                    "POST", url, headers=list(headers.items()), content=body, extensions={"timeout": limits}
                ) as response,
            ):
                received = answer(status=response.status)
                excerpt = bytearray()
                async for chunk in response.aiter_stream():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_BYTES:
                        break
                retry_after = next(
                    (v.decode("latin-1") for k, v in response.headers if k.lower() == b"retry-after"), None
                )
        except TargetRefused as exc:
            return answer(status=None, error=f"{exc}: not sent", refused=True)
        except (TimeoutError, httpcore.TimeoutException):
            return answer(status=None, error=f"No answer within {timeout_s:g} s")
        except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
            return answer(status=None, error=f"Could not reach the endpoint: {type(exc).__name__} {exc}".strip())
        except httpcore.UnsupportedProtocol as exc:
            return answer(status=None, error=str(exc), refused=True)
        return Answer(
            status=received.status,
            latency_ms=received.latency_ms,
            excerpt=bytes(excerpt[:EXCERPT_BYTES]).decode("utf-8", errors="replace"),
            retry_after=retry_after,
        )
