"""Schemathesis over our own OpenAPI document: generated requests to every documented operation, answered
by the app from its factory on the test PostgreSQL/Redis, must never be a 5xx nor break their own schema.

The operations come from the document at run time, so routes added later are covered without edits here.
Schemathesis's ASGI client runs apps on a loop in its own thread, where the test's connection pool cannot
go; so hypothesis runs in a worker thread and each request is handed to the test's loop, through the same
httpx ASGI transport as the other API tests.
"""

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx
import hypothesis
import requests
import schemathesis
from hypothesis import strategies as st
from litestar import Litestar
from litestar.routes import WebSocketRoute
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reflector.bootstrap import Services
from reflector.domain.transcripts.models import NewTranscript
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.meeting_platform import RecordingPlatform, with_platform

EXAMPLES_PER_OPERATION = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Event streams (SSE) never end, so a generated GET would hang rather than fail.
NEVER_ENDING = ("text/event-stream",)

Send = Callable[[schemathesis.Case], httpx.Response]


async def _seed(services: Services) -> dict[str, str]:
    """A transcript with a topic of words and a named speaker, so generated paths can hit real rows."""
    view = await services.transcripts.create(NewTranscript(name="Fuzzed sync", source_kind="file"))
    words = [
        {"text": text, "start": i * 0.5, "end": i * 0.5 + 0.4, "speaker": i // 2}
        for i, text in enumerate(["Hello", "team.", "Budget", "fine."])
    ]
    topics = await services.transcripts.replace_topics(
        view.id, [{"title": "Budget", "summary": "It is fine.", "timestamp": 0.0, "duration": 2.0, "words": words}]
    )
    participant = await services.editor.add_participant(view.id, "Ana", 0)
    return {"transcript_id": view.id, "topic_id": topics[0].id, "participant_id": participant.id}


def _websocket_paths(app: Litestar) -> set[str]:
    """Paths served as WebSockets: the GET documented beside one only describes its events (it answers 426)."""
    return {re.sub(r":\w+}", "}", route.path) for route in app.routes if isinstance(route, WebSocketRoute)}


def _streams_forever(operation: schemathesis.APIOperation) -> bool:
    responses = operation.definition.raw.get("responses", {})
    return any(kind in body.get("content", {}) for body in responses.values() for kind in NEVER_ENDING)


def _fuzz(operation: schemathesis.APIOperation, real_ids: dict[str, str], send: Send) -> str | None:
    """Run one operation's examples; the failure report, or None."""
    known = {name: value for name, value in real_ids.items() if "{" + name + "}" in operation.path}
    cases = st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
        *([operation.as_strategy(path_parameters=known)] if known else []),
    )

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
    )
    @hypothesis.given(cases)
    def check(case: schemathesis.Case) -> None:
        case.validate_response(send(case), checks=CHECKS)

    try:
        check()
    except (FailureGroup, Exception) as failure:  # failed checks, or anything the request itself raised
        return f"{operation.method.upper()} {operation.path}: {failure}"
    return None


async def test_generated_requests_get_no_5xx_and_match_the_schema(clean: Services, settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    app = create_app(settings, services=with_platform(clean, RecordingPlatform()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        document = (await client.get("/schema/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(document)

        def send(case: schemathesis.Case) -> httpx.Response:
            # requests prepares the body (JSON, form or multipart) exactly as schemathesis meant it.
            kwargs: dict[str, Any] = case.as_transport_kwargs(base_url="http://localhost")
            prepared = requests.Request(**kwargs).prepare()
            request = client.request(
                prepared.method or "GET", prepared.url or "/", headers=dict(prepared.headers), content=prepared.body
            )
            return asyncio.run_coroutine_threadsafe(request, loop).result(timeout=30)

        failures: list[str] = []
        websockets = _websocket_paths(app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert operations, "the OpenAPI document lists no operations"
        for operation in operations:
            if operation.path in websockets or _streams_forever(operation):
                continue
            real_ids = await _seed(clean)  # fresh rows: an earlier operation may have deleted or locked them
            failure = await asyncio.to_thread(_fuzz, operation, real_ids, send)
            if failure:
                failures.append(failure)
    assert not failures, "\n\n".join(failures)
