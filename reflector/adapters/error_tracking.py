"""Sentry for every process, sending where and how code failed but never what was said.

Recordings and transcripts are the users' private words: an event keeps exception types, stack
frames and tags, and loses whatever may carry content (exception messages, local variables, request
bodies and query strings, log and breadcrumb messages and data).
"""

from collections.abc import Sequence
from typing import Any

import sentry_sdk
from sentry_sdk.integrations import Integration
from sentry_sdk.integrations.logging import LoggingIntegration

_STRIPPED = "[stripped]"
# Request fields that cannot hold content: the route and method are enough to find the handler.
_REQUEST_KEPT = ("method", "url")
_BREADCRUMB_KEPT = ("type", "category", "level", "timestamp")


def init_error_tracking(dsn: str | None, process: str, integrations: Sequence[Integration] = ()) -> bool:
    """Start sending errors when a DSN is set; True when it did."""
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        # No framework integration patches Litestar (one turned bad JSON bodies into 500s): the web
        # layer reports what it could not handle through `report_error`, and error logs are not events.
        auto_enabling_integrations=False,
        integrations=[LoggingIntegration(event_level=None), *integrations],
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        # Traces carry query descriptions and timings we do not need there; errors only.
        traces_sample_rate=None,
    )
    sentry_sdk.set_tag("process", process)
    return True


def report_error(exc: BaseException) -> None:
    """Send an unexpected failure (a no-op when Sentry is not set up)."""
    sentry_sdk.capture_exception(exc)


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    return {key: crumb[key] for key in _BREADCRUMB_KEPT if key in crumb}


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    for exception in event.get("exception", {}).get("values", []):
        if exception.get("value"):
            exception["value"] = _STRIPPED
        _scrub_frames(exception.get("stacktrace"))
    for thread in event.get("threads", {}).get("values", []):
        _scrub_frames(thread.get("stacktrace"))
    if "logentry" in event:
        event["logentry"] = {"message": _STRIPPED}
    if isinstance(event.get("message"), str):
        event["message"] = _STRIPPED
    if "request" in event:
        request = event["request"]
        event["request"] = {key: request[key] for key in _REQUEST_KEPT if key in request}
        if "url" in event["request"]:
            event["request"]["url"] = event["request"]["url"].split("?", 1)[0]
    event.pop("extra", None)
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict):
        breadcrumbs["values"] = [scrub_breadcrumb(crumb) for crumb in breadcrumbs.get("values", [])]
    return event


def _scrub_frames(stacktrace: dict[str, Any] | None) -> None:
    for frame in (stacktrace or {}).get("frames", []):
        frame.pop("vars", None)
