"""Security headers on every HTTP answer, set as it leaves the app so error pages and 404s carry them too.

Every answer but a static asset says `Cache-Control: no-store`: pages, JSON, recordings and exports hold a
person's meetings, and which of them a given answer depends on the caller (and may change with a share mode
or a deletion), so neither a shared proxy nor the browser's disk cache may keep one. One rule for all
dynamic paths, rather than a list of the private ones, cannot miss a route added later. `no-store` leaves
byte ranges alone: the player still seeks in a recording, it just asks the server again.
"""

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

# Our pages load nothing from elsewhere and run no inline script or style, so an injected tag does nothing.
_PAGE_DIRECTIVES = [
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
    # A room's meeting page frames the platform's room (Daily's and Whereby's own pages, on their domains).
    "frame-src https://*.daily.co https://*.whereby.com",
]
PAGE_POLICY = "; ".join(_PAGE_DIRECTIVES)
# Swagger UI at /schema loads its script and styles from a CDN, so it gets only the framing rule.
SCHEMA_POLICY = "frame-ancestors 'none'"
_SCHEMA_PREFIX = "/schema"
# The app's own CSS, JS and icons: the same for everyone, so browsers may keep them.
_STATIC_PREFIX = "/static/"


def page_policy(identity_provider: str | None) -> str:
    """The pages' policy; signing out posts a form whose answer sends the browser on to the identity
    provider's logout page, and browsers hold such redirects to `form-action` too."""
    if not identity_provider:
        return PAGE_POLICY
    parts = urlsplit(identity_provider)
    provider = f"{parts.scheme}://{parts.netloc}"
    return "; ".join(f"{d} {provider}" if d.startswith("form-action") else d for d in _PAGE_DIRECTIVES)


def security_headers(identity_provider: str | None) -> Callable[[Message, Scope], Awaitable[None]]:
    """A `before_send` hook: the headers go on each response's start message."""
    pages = page_policy(identity_provider)

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        path = scope["path"]
        headers = MutableScopeHeaders.from_message(message)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        schema = path == _SCHEMA_PREFIX or path.startswith(_SCHEMA_PREFIX + "/")
        headers["Content-Security-Policy"] = SCHEMA_POLICY if schema else pages
        if not path.startswith(_STATIC_PREFIX):
            headers["Cache-Control"] = "no-store"

    return add_security_headers
