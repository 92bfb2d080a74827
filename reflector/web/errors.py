"""Every error as Reflector's body `{"detail": ...}`, with its status codes, mapped in one place; a
person's page gets an error page instead: what happened and where to go next, and for our own faults the
request id that also names the failure in the server's log."""

import inspect
import re
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import msgspec
import structlog
from litestar import Controller, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY, HTTP_500_INTERNAL_SERVER_ERROR

from reflector.adapters.error_tracking import report_error
from reflector.adapters.outages import UNREACHABLE, is_outage, outage_sentence
from reflector.adapters.storage import StorageFull
from reflector.domain.auth.limits import RateLimited
from reflector.domain.auth.models import InvalidCredential
from reflector.domain.errors import DomainError
from reflector.domain.transcripts.access import AccessDenied
from reflector.domain.transcripts.models import TranscriptNotFound
from reflector.web.recording import InvalidOffer

log = structlog.get_logger(__name__)

# Failures a client can act on from outside the domain (which gives each of its own a status), and the
# status they are answered with.
OTHER_STATUS: dict[type[Exception], int] = {
    InvalidOffer: 400,
    StorageFull: 507,
}


# Paths that answer machines keep Reflector's JSON errors; every other path is a person's page.
_MACHINE_PREFIXES = ("/v1", "/health", "/metrics", "/schema", "/static")
# A caller's own request id is kept only if it cannot forge or break a log line.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _wants_page(request: Request) -> bool:
    path = request.scope["path"]
    return not any(path == prefix or path.startswith(prefix + "/") for prefix in _MACHINE_PREFIXES)


def _request_id(request: Request) -> str:
    """The id a proxy gave this request (X-Request-ID), or a new one."""
    given = request.headers.get("x-request-id", "")
    return given if _SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


_HEADINGS = {
    400: "That request didn't work",
    403: "You don't have access to this",
    405: "That action isn't available here",
    401: "Sign in to continue",
    413: "That is too large",
    429: "Too many tries",
    500: "Something went wrong on our side",
    503: "Reflector can't reach one of its servers",
}
_EXPLANATIONS = {
    403: "It belongs to someone else, or it isn't shared with you. Ask its owner to share it.",
    404: "It may have been deleted, or the address may be mistyped.",
    405: "Go back and use the page's own buttons and links.",
    500: "It isn't something you did. Try again in a moment; if it keeps happening, tell the administrator "
    "and give them the request id below.",
}


def error_page(status: int, detail: str = "", *, subject: str = "page", request_id: str = "") -> Template:
    """The page for an error: our sentence for the common statuses, else the failure's own `detail`."""
    if status == 404:
        heading = f"We can't find that {subject}"
    else:
        heading = _HEADINGS.get(status) or _HEADINGS[500 if status >= 500 else 400]
    explanation = _EXPLANATIONS[500] if status >= 500 and status != 503 else _EXPLANATIONS.get(status, detail)
    return Template(
        template_name="pages/error.html",
        context={"status": status, "heading": heading, "explanation": explanation, "request_id": request_id},
        status_code=status,
        headers={"X-Request-ID": request_id} if request_id else None,
    )


def status_of(exc: Exception) -> int:
    """The status a failure a client can act on is answered with."""
    if isinstance(exc, AccessDenied) and not exc.signed_in:
        return 401  # signing in may help
    if isinstance(exc, DomainError):
        return exc.status
    return next(status for kind, status in OTHER_STATUS.items() if isinstance(exc, kind))


def _all_statuses() -> set[int]:
    kinds: list[type[DomainError]] = [DomainError]
    found: set[int] = set(OTHER_STATUS.values())
    while kinds:
        kind = kinds.pop()
        found.add(kind.status)
        kinds.extend(kind.__subclasses__())
    return found


def _sign_in_first(request: Request, status: int) -> Response[Any] | None:
    """A person who must sign in to see a page is sent to sign in, and back here after."""
    if status != 401 or request.method != "GET" or request.app.state.settings.auth.backend != "oidc":
        return None
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"/login?{urlencode({'next': here})}", status_code=303)


def _domain_error(request: Request, exc: Exception) -> Response[Any]:
    status = status_of(exc)
    if _wants_page(request):
        # A credential that was presented and refused is an answer for a script, not a sign-in page.
        redirect = None if isinstance(exc, InvalidCredential) else _sign_in_first(request, status)
        if redirect is not None:
            return redirect
        page = error_page(status, str(exc), subject="transcript" if isinstance(exc, TranscriptNotFound) else "page")
        page.headers.update(_error_headers(exc, status))
        return page
    return Response({"detail": str(exc)}, status_code=status, headers=_error_headers(exc, status))


def _error_headers(exc: Exception, status: int) -> dict[str, str]:
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after_seconds)}
    return {"WWW-Authenticate": "Bearer"} if status == 401 else {}


def _http_error(request: Request, exc: HTTPException) -> Response[Any]:
    if _wants_page(request):
        if (redirect := _sign_in_first(request, exc.status_code)) is not None:
            return redirect
        return error_page(exc.status_code, exc.detail)
    if isinstance(exc, ValidationException):
        # FastAPI's shape: a list of {loc, msg, type}; Reflector's clients only read `detail`.
        errors = [
            {"loc": [e.get("source", "body"), e.get("key", "")], "msg": e.get("message", ""), "type": "value_error"}
            for e in (exc.extra or [])
            if isinstance(e, dict)
        ]
        return Response({"detail": errors or exc.detail}, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    return Response({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


# How long a client is asked to wait before trying again while a server is away.
RETRY_AFTER_OUTAGE_S = 5


def _outage(request: Request, exc: Exception) -> Response[Any]:
    """A server we depend on is away: 503 with the sentence, at once, rather than a 500 or a hang."""
    if not is_outage(exc):
        return _unexpected(request, exc)
    sentence = outage_sentence(exc)
    log.warning("request.outage", method=request.method, path=request.url.path, error=repr(exc))
    headers = {"Retry-After": str(RETRY_AFTER_OUTAGE_S)}
    if _wants_page(request):
        page = error_page(503, sentence)
        page.headers.update(headers)
        return page
    return Response({"detail": sentence}, status_code=503, headers=headers)


def _unexpected(request: Request, exc: Exception) -> Response[Any]:
    # The id in the answer finds this line, with its traceback, in the log.
    request_id = _request_id(request)
    log.error("request.failed", request_id=request_id, method=request.method, path=request.url.path, exc_info=exc)
    report_error(exc)
    if _wants_page(request):
        return error_page(HTTP_500_INTERNAL_SERVER_ERROR, request_id=request_id)
    return Response(
        {"detail": "Internal server error"},
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        headers={"X-Request-ID": request_id},
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: _domain_error,
    **{error: _domain_error for error in OTHER_STATUS},
    HTTPException: _http_error,
    **{error: _outage for error in UNREACHABLE},
    HTTP_500_INTERNAL_SERVER_ERROR: _unexpected,
}


class ValidationProblem(msgspec.Struct):
    loc: list[str]
    msg: str
    type: str


class ErrorBody(msgspec.Struct):
    """Every error's body: a sentence, or for invalid input one problem per field."""

    detail: str | list[ValidationProblem]


def _error_responses(takes_body: bool) -> dict[int, ResponseSpec]:
    # Any request may be malformed, carry a bad credential, be refused or name a missing row; the other
    # domain failures (413, ...) need a body.
    statuses = {400, 401, 403, 404, HTTP_422_UNPROCESSABLE_ENTITY, *(_all_statuses() if takes_body else [])}
    return {
        status: ResponseSpec(ErrorBody, description=HTTPStatus(status).phrase, generate_examples=False)
        for status in sorted(statuses)
    }


def document_errors(routes: list[Any]) -> None:
    """Put the error answers above into every handler's OpenAPI responses.

    Left alone, Litestar documents a 400 `{status_code, detail, extra}` that we never send, and no 404 or
    422 at all, so generated clients mistype every error.
    """
    for route in routes:
        handlers = [route] if isinstance(route, HTTPRouteHandler) else []
        if isinstance(route, type) and issubclass(route, Controller):
            handlers = [h for h in (getattr(route, name) for name in dir(route)) if isinstance(h, HTTPRouteHandler)]
        for handler in handlers:
            takes_body = "data" in inspect.signature(handler.fn).parameters
            handler.responses = {**_error_responses(takes_body), **(handler.responses or {})}
