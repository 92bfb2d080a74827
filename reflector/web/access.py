"""Which routes a caller may use, decided before any handler runs, from the rule each route declares.

Every route names its rule in `opt={"access": ...}` (a controller may name it for all its handlers):

- `open`     anyone: health, the API document, sign-in, static files, `/v1/me`
- `member`   a signed-in caller (their own keys, creating a transcript, their event channel)
- `listing`  lists and searches: signed in, or anonymous where PUBLIC_MODE allows; the listing itself
             shows only what `access.listing_for` allows
- `read`     the transcript in the path, by its share mode
- `write`    the transcript in the path, by its owner (or an admin)
- `room`     the room in the path (`room_id`), by whether it is shared
- `room_owner` the room in the path (`room_id` or `room_name`, or the room of `meeting_id`), by its owner (or
             an admin)
- `admin`    operators only

A route without a rule refuses to start the app (`check_rules`), so a new route cannot slip out unguarded.
Requests that act with an ambient credential (a session cookie; the local user without accounts) must come
from our own pages when they change something, and without accounts even to read (`refuse_cross_site`).
"""

from typing import Any, Literal
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.types import Scope

from reflector.domain.auth.models import Caller
from reflector.domain.rooms import access as rooms_access
from reflector.domain.transcripts.access import check_read, check_write
from reflector.domain.transcripts.models import TranscriptView
from reflector.settings import Settings

Access = Literal["open", "member", "listing", "read", "write", "room", "room_owner", "admin"]
RULES: frozenset[str] = frozenset(Access.__args__)  # type: ignore[attr-defined]
# Routes we do not declare ourselves: Litestar's API document (its Swagger page and JSON).
_OPEN_PREFIXES = ("/schema",)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Credentials a browser attaches by itself, which another site's page could therefore use: a session
# cookie, and the local user that every caller is without accounts. Keys and tokens are never ambient.
_AMBIENT = frozenset({"session", "local"})
# Where `authorize` leaves the transcript a `read` or `write` rule checked, for the handler to use.
_CHECKED_TRANSCRIPT = "reflector.checked_transcript"


def rule_of(handler: BaseRouteHandler, path: str) -> str | None:
    if getattr(handler, "http_methods", None) == {"OPTIONS"}:
        return "open"  # Litestar's own answer to CORS preflights, which carry no credentials
    rule = handler.opt.get("access")
    if rule is None and any(path == p or path.startswith(p + "/") for p in _OPEN_PREFIXES):
        return "open"
    return rule


def handlers_of(route: Any) -> list[BaseRouteHandler]:
    handler = getattr(route, "route_handler", None)  # a WebSocket route has exactly one
    return [handler] if handler is not None else list(route.route_handlers)


def check_rules(app: Litestar) -> None:
    """Refuse to build an app with a route that declares no rule, or one we do not know."""
    for route in app.routes:
        for handler in handlers_of(route):
            rule = rule_of(handler, route.path)
            if rule not in RULES:
                raise RuntimeError(f"route {route.path} ({handler.handler_name}) declares no access rule: {rule!r}")


class CrossSiteRequest(PermissionDeniedException):
    pass


def refuse_cross_site(connection: ASGIConnection[Any, Any, Any, Any], own_origins: set[str], *, reading: bool) -> None:
    """Refuse a request that another site's page started and that would act with an ambient credential
    (a session cookie, or the local user of AUTH_BACKEND=none that every caller is).

    Browsers say where a request comes from: Sec-Fetch-Site on every request of current browsers, Origin
    on every unsafe one (and on every WebSocket handshake). A request that carries neither is not from a
    browser, so no other site can have made it. This is the check of Go's CrossOriginProtection, and
    unlike a token it also protects plain forms, htmx and our scripts' fetches without touching them.
    Origins named in CORS_ORIGIN (a Reflector client served elsewhere) count as our own. When `reading`,
    a link followed from another site (a top-level navigation) is let through: only the person sees it.
    """
    origin = connection.headers.get("origin")
    if origin is not None and origin.rstrip("/") in own_origins:
        return
    site = connection.headers.get("sec-fetch-site")
    if site is not None:
        if site in ("same-origin", "none"):
            return
        if reading and connection.headers.get("sec-fetch-mode") == "navigate":
            return
        raise CrossSiteRequest("Cross-site request refused: use Reflector's own pages")
    if origin is not None:
        raise CrossSiteRequest("Cross-site request refused: use Reflector's own pages")


def _own_origins(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> set[str]:
    """Where our own pages are served from (the configured base URL, and the host this request reached,
    which ALLOWED_HOSTS vouches for) and the origins CORS_ORIGIN names."""
    parts = urlsplit(settings.server.base_url)
    own = {f"{parts.scheme}://{parts.netloc}", *settings.server.cors_origin_list}
    host = connection.headers.get("host")
    if host:
        own |= {f"http://{host}", f"https://{host}"}
    return own


def provide_transcript(scope: Scope) -> TranscriptView:
    """The transcript of the path, as the access check of a `read` or `write` route read it just before the
    handler: a handler that shows it need not read it again. A handler that changes it reads it anew after."""
    return scope["state"][_CHECKED_TRANSCRIPT]


async def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler, caller: Caller) -> None:
    settings: Settings = connection.app.state.settings
    if caller.via in _AMBIENT:
        changing = connection.scope["type"] == "websocket" or connection.method not in _SAFE_METHODS
        # Without accounts every caller is the owner of everything, so even reads are for our own pages.
        if changing or caller.via == "local":
            refuse_cross_site(connection, _own_origins(connection, settings), reading=not changing)
    rule = rule_of(handler, connection.scope["path"])
    if rule == "open":
        return
    if rule == "listing":
        if not caller.signed_in and not settings.auth.public_mode:
            raise NotAuthorizedException("Sign in to list transcripts")
        return
    if not caller.signed_in and rule in ("member", "admin"):
        raise NotAuthorizedException("Sign in first")
    if rule == "member":
        return
    if rule == "admin":
        if not caller.admin:
            raise PermissionDeniedException("Only an administrator can do this")
        return
    if rule in ("read", "write"):
        transcript = await connection.app.state.services.transcripts.get(connection.path_params["transcript_id"])
        (check_read if rule == "read" else check_write)(caller, transcript)
        connection.scope.setdefault("state", {})[_CHECKED_TRANSCRIPT] = transcript
        return
    if rule in ("room", "room_owner"):
        services = connection.app.state.services
        params = connection.path_params
        if "room_id" not in params and "room_name" not in params:
            room = await services.meetings.room_of(params["meeting_id"])
            rooms_access.check_ends_meetings(caller, room)
            return
        if "room_id" in params:
            room = await services.rooms.get(params["room_id"])
        else:
            room = await services.rooms.named(params["room_name"])
        (rooms_access.check_read if rule == "room" else rooms_access.check_write)(caller, room)
        return
    raise RuntimeError(f"route {connection.scope['path']} declares no access rule")
