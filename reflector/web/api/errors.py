"""Every error as Reflector's body `{"detail": ...}`, with its status codes, mapped in one place."""

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY, HTTP_500_INTERNAL_SERVER_ERROR

from reflector.domain.transcripts.models import (
    NoUpload,
    ParticipantNotFound,
    SpeakerConflict,
    TopicNotFound,
    TranscriptLocked,
    TranscriptNotFound,
)

# Domain failures a client can act on, and the status Reflector answers them with.
DOMAIN_STATUS: dict[type[Exception], int] = {
    TranscriptNotFound: 404,
    TopicNotFound: 404,
    ParticipantNotFound: 404,
    TranscriptLocked: 400,
    NoUpload: 400,
    SpeakerConflict: 400,
}


def _domain_error(_: Request, exc: Exception) -> Response[dict[str, Any]]:
    return Response({"detail": str(exc)}, status_code=DOMAIN_STATUS[type(exc)])


def _http_error(_: Request, exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ValidationException):
        # FastAPI's shape: a list of {loc, msg, type}; Reflector's clients only read `detail`.
        errors = [
            {"loc": [e.get("source", "body"), e.get("key", "")], "msg": e.get("message", ""), "type": "value_error"}
            for e in (exc.extra or [])
            if isinstance(e, dict)
        ]
        return Response({"detail": errors or exc.detail}, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    return Response({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def _unexpected(_: Request, exc: Exception) -> Response[dict[str, Any]]:
    return Response({"detail": "Internal server error"}, status_code=HTTP_500_INTERNAL_SERVER_ERROR)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    **{error: _domain_error for error in DOMAIN_STATUS},
    HTTPException: _http_error,
    HTTP_500_INTERNAL_SERVER_ERROR: _unexpected,
}
