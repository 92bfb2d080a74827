"""Security headers on every HTTP answer, set as it leaves the app so error pages and 404s carry them too."""

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

# Our pages load nothing from elsewhere and run no inline script or style, so an injected tag does nothing.
PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Swagger UI at /schema loads its script and styles from a CDN, so it gets only the framing rule.
SCHEMA_POLICY = "frame-ancestors 'none'"
_SCHEMA_PREFIX = "/schema"


def _policy(path: str) -> str:
    return SCHEMA_POLICY if path == _SCHEMA_PREFIX or path.startswith(_SCHEMA_PREFIX + "/") else PAGE_POLICY


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook: the headers go on each response's start message."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    headers["Content-Security-Policy"] = _policy(scope["path"])
