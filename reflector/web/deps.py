"""What handlers get injected: the process's services and who is calling.

`authenticate` runs before every handler, HTTP and WebSocket alike: it settles who the caller is, then
`reflector.web.access` decides whether they may use this route at all.
"""

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.handlers import BaseRouteHandler
from litestar.types import Message, Scope

from reflector.bootstrap import Services
from reflector.domain.auth.models import ANONYMOUS, LOCAL_USER_ID, Caller, InvalidCredential
from reflector.domain.auth.sessions import SESSION_COOKIE
from reflector.domain.transcripts.access import AccessDenied
from reflector.domain.transcripts.models import TranscriptNotFound, UploadTooLarge
from reflector.settings import Settings
from reflector.web.access import authorize
from reflector.web.request_text import refuse_unstorable_text

__all__ = [
    "LOCAL_USER_ID",
    "authenticate",
    "provide_caller",
    "provide_services",
    "provide_user_id",
    "recheck",
    "socket_refusal",
]

# Where `authenticate` leaves the caller in the connection's scope state.
_CALLER = "reflector.caller"
_REFUSAL = "reflector.socket_refusal"
# What refuses a caller a route: answered as an HTTP error, or as the close code of a socket.
_REFUSED = (InvalidCredential, AccessDenied, HTTPException, TranscriptNotFound)
LOCAL_CALLER = Caller(user_id=LOCAL_USER_ID, role="admin", via="local")


def provide_services(state: State) -> Services:
    return state.services


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Who calls, and whether they may use this route.

    A credential that is presented and not valid is refused with 401 in every mode, never ignored, so a
    script with a revoked key fails loudly instead of quietly reading as someone else (or as nobody).
    """
    state = connection.scope.setdefault("state", {})
    try:
        caller = await _caller(connection)
        state[_CALLER] = caller
        # Before the route's own lookups: text PostgreSQL cannot hold would fail the first query as a 500.
        await refuse_unstorable_text(connection, handler)
        await authorize(connection, handler, caller)
    except _REFUSED as refused:
        if connection.scope["type"] != "websocket":
            raise
        # A refused handshake tells a browser nothing; the socket handler accepts and closes with the reason.
        state[_REFUSAL] = _socket_refusal(refused)


def _socket_refusal(refused: Exception) -> tuple[int, str]:
    if isinstance(refused, TranscriptNotFound):
        return 4404, "Transcript not found"
    if isinstance(refused, AccessDenied):
        return (4403 if refused.signed_in else 4401), str(refused)
    if isinstance(refused, HTTPException):
        return 4000 + refused.status_code, refused.detail
    return 4401, str(refused) or "Not authenticated"


async def recheck(connection: ASGIConnection[Any, Any, Any, Any], before: Caller) -> tuple[int, str] | None:
    """Ask again whether an open socket's caller may keep it: the same credential must still name the same
    user, and that user must still pass the route's rule. The close code and reason when not; None when so."""
    try:
        caller = await _caller(connection)
        if caller.user_id != before.user_id:
            raise InvalidCredential("Signed out" if before.via == "session" else "Not authenticated")
        await authorize(connection, connection.route_handler, caller)
    except _REFUSED as refused:
        return _socket_refusal(refused)
    return None


def socket_refusal(scope: Scope) -> tuple[int, str] | None:
    """Why the WebSocket of this scope was refused, as a close code and reason; None when it was not."""
    return scope.get("state", {}).get(_REFUSAL)


def _bearer(connection: ASGIConnection[Any, Any, Any, Any], verifiable: bool) -> str | None:
    # Browsers cannot set headers on a WebSocket, so Reflector's clients offer ["bearer", <token>]. Its
    # web client offers one even where no login exists, so with no provider it is not a credential.
    if connection.scope["type"] == "websocket" and verifiable:
        offered = list(connection.scope.get("subprotocols") or [])
        if "bearer" in offered and offered.index("bearer") + 1 < len(offered):
            return offered[offered.index("bearer") + 1]
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    # Other schemes (a proxy's Basic auth in front of us) are not ours to judge.
    return token.strip() if scheme.lower() == "bearer" else None


async def _caller(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    # The services are read only once a credential needs them: an app serving its API document alone has none.
    settings: Settings = connection.app.state.settings
    found: list[Caller] = []
    key = connection.headers.get("x-api-key")
    if key is not None:
        services: Services = connection.app.state.services
        user = await services.auth.user_for_key(key)
        if user is None:
            raise InvalidCredential("Invalid API key")
        found.append(Caller(user_id=user.id, role=user.role, via="api_key", name=user.name))
    token = _bearer(connection, verifiable=settings.auth.backend == "oidc")
    if token is not None:
        services = connection.app.state.services
        if services.oidc is None:
            # No provider is configured, so no token can be valid.
            raise InvalidCredential("Invalid token")
        identity = await services.oidc.identity_from_access_token(token)
        user = await services.auth.user_for_identity(identity)
        found.append(
            Caller(user_id=user.id, role=user.role, via="token", name=user.name, expires_at=identity.expires_at)
        )
    if found:
        if len({c.user_id for c in found}) > 1:
            raise InvalidCredential("The API key and the token name different users")
        return found[0]
    if settings.auth.backend == "none":
        return LOCAL_CALLER
    cookie = connection.cookies.get(SESSION_COOKIE)
    services = connection.app.state.services
    if cookie and services.sessions is not None:
        session = await services.sessions.session_for(cookie)
        user = await services.auth.user(session[0]) if session else None
        if session and user is not None:
            return Caller(
                user_id=user.id,
                role=user.role,
                via="session",
                name=user.name or user.email or "",
                expires_at=session[1],
            )
    # An expired or signed-out session is a visitor again: pages then ask them to sign in.
    return ANONYMOUS


def provide_caller(scope: Scope) -> Caller:
    return scope.get("state", {}).get(_CALLER, ANONYMOUS)


def provide_user_id(scope: Scope) -> str | None:
    return provide_caller(scope).user_id


async def cap_upload_body(request: Request) -> None:
    """Refuse a body past MAX_UPLOAD_BYTES before it is spooled: by its Content-Length when it declares
    one, else while it streams in (the route lifts Litestar's own 10 MB default for this)."""
    limit = provide_services(request.app.state).settings.server.max_upload_bytes
    if (request.content_length or 0) > limit:
        raise UploadTooLarge(limit)
    receive = request.receive
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise UploadTooLarge(limit)
        return message

    request.receive = counted
