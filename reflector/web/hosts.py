"""Requests must name one of our host names (ALLOWED_HOSTS), against DNS rebinding: a page of an attacker's
domain that has been made to resolve to 127.0.0.1 is same-origin with that domain, so the browser lets it
read our answers, but its requests name that domain in `Host`, and are refused here.

Litestar's own AllowedHostsMiddleware compares the whole header, port included, and case-sensitively, so
`127.0.0.1:1250` would not match `127.0.0.1`; host names are compared here as RFC 9110 defines them.
"""

from litestar.types import ASGIApp, Receive, Scope, Send
from msgspec import json


def host_name(header: str) -> str:
    """The name in a Host header, without its port, lower-cased (`[::1]:1250` is `[::1]`)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    name, colon, port = header.rpartition(":")
    return name if colon and port.isdigit() else header


def allows(patterns: list[str], name: str) -> bool:
    return any(
        pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:]))
        for pattern in patterns
    )


class AllowedHosts:
    """ASGI middleware: HTTP requests naming another host get 400 with a sentence; WebSockets are refused."""

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.allowed = [a.strip().lower() for a in allowed]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or "*" in self.allowed:
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        name = host_name(raw)
        if name and allows(self.allowed, name):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "Unknown host name"})
            return
        detail = f"Unknown host name {name!r}: add it to ALLOWED_HOSTS if this server is reached by it"
        body = json.encode({"status_code": 400, "detail": detail})
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})
