"""Posting a webhook to a receiver: one request, no redirect followed, no address that is not public.

The address check happens where the connection is made, after DNS resolution (a custom httpcore network
backend): the name is resolved once, every address checked, and the connection made to a checked address,
so a name that resolves to 127.0.0.1, or that changes its answer between a check and the connection (DNS
rebinding), reaches nothing of ours. TLS still verifies the certificate against the name. httpcore never
follows redirects, so a 3xx is only an answer. Cloud metadata addresses are refused even where private
targets are allowed.
"""

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import msgspec

# The most of a receiver's answer that is kept.
EXCERPT_BYTES = 1024
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Answer(msgspec.Struct, frozen=True):
    """What a receiver answered one attempt (`status` None: no answer: refused, timed out, unreachable)."""

    status: int | None
    latency_ms: int
    excerpt: str = ""
    retry_after: str | None = None
    error: str = ""
    refused: bool = False  # the target's address (or scheme) is not one we send to


class TargetRefused(Exception):
    """The receiver's address is one we do not send to; the message says which and why."""


def refusal(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why a webhook may not go to `ip` (None: it may)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA:
        return "a cloud metadata address"
    if allow_private:
        return None
    for test, what in (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_private, "a private address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified, "an unspecified address"),
        (not ip.is_global, "not a public address"),
    ):
        if test:
            return what
    return None


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses `refusal` allows, resolving the name itself."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
        allowed = [ip for ip in addresses if refusal(ip, allow_private=self._allow_private) is None]
        if not allowed:
            ip = addresses[0]
            why = refusal(ip, allow_private=self._allow_private)
            hint = "" if why == "a cloud metadata address" else " (WEBHOOK_ALLOW_PRIVATE_TARGETS=true allows it)"
            raise TargetRefused(f"{host} is {ip}, {why}: not sent{hint}")
        last: Exception | None = None
        for ip in allowed:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("webhooks go over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class WebhookHttp:
    """The webhooks module's Sender: a fresh connection per attempt (receivers are many and seldom hit)."""

    def __init__(self, *, allow_private: bool) -> None:
        self._backend = _GuardedBackend(allow_private)

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
            return answer(status=None, error=str(exc), refused=True)
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
