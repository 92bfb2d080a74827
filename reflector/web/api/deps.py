"""What handlers get injected: the process's services and who is calling."""

from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.types import Scope

from reflector.bootstrap import Services
from reflector.domain.auth.models import LOCAL_USER_ID

__all__ = ["LOCAL_USER_ID", "authenticate", "provide_services", "provide_user_id"]

# Where `authenticate` leaves the caller's user id in the connection's scope state.
_CALLER = "reflector.user_id"


def provide_services(state: State) -> Services:
    return state.services


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Who calls, settled before every handler: the owner of a valid X-API-Key, else the local user.

    It runs for every route, not only those that ask for `user_id`: a credential that is presented and
    not valid is refused in every mode, never ignored, so a script with a revoked key fails loudly
    instead of quietly reading as someone else.
    """
    connection.scope.setdefault("state", {})[_CALLER] = await _caller(connection)


async def _caller(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    if connection.scope["type"] == "websocket":
        # Reflector's clients send their token as the subprotocol ["bearer", token]; with no logins
        # yet it names nobody, so sockets keep acting for the local user.
        return LOCAL_USER_ID
    key = connection.headers.get("x-api-key")
    if key is not None:
        services: Services = connection.app.state.services
        user_id = await services.auth.user_for_key(key)
        if user_id is None:
            raise NotAuthorizedException("Invalid API key")
        return user_id
    scheme, _, _ = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        # No backend that issues tokens is enabled yet, so no token can be valid. Other schemes
        # (a proxy's Basic auth in front of us) are not ours to judge.
        raise NotAuthorizedException("Invalid token")
    return LOCAL_USER_ID


def provide_user_id(scope: Scope) -> str | None:
    return scope.get("state", {}).get(_CALLER, LOCAL_USER_ID)
