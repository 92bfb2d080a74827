"""Sentry gets where the web process failed, never what was said in a meeting.

A local server speaks Sentry's envelope protocol; the app is pointed at it through SENTRY_DSN.
"""

import gzip
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import msgspec
import pytest
import sentry_sdk
from litestar import get

from reflector.bootstrap import Services
from reflector.settings import Settings
from reflector.web.app import create_app

SENTENCE = "Our secret merger with Globex closes on Friday"


class _Envelopes(BaseHTTPRequestHandler):
    received: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path == "/api/1/envelope/":
            self.received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def sentry_server() -> Iterator[tuple[str, list[bytes]]]:
    """A Sentry stand-in on loopback: its DSN and the envelopes it receives."""
    received: list[bytes] = []
    handler = type("Handler", (_Envelopes,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1", received
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init(auto_enabling_integrations=False)  # no DSN, no framework patches: later tests as before
        server.shutdown()


def _events(envelopes: list[bytes]) -> list[dict]:
    events = []
    for envelope in envelopes:
        lines = envelope.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


@get("/v1/boom", sync_to_thread=False, opt={"access": "open"})
def boom() -> None:
    said = SENTENCE
    logging.getLogger("reflector.transcripts").warning("parsing %s", said)
    raise RuntimeError(f"could not parse {said!r}")


async def test_unexpected_error_reaches_sentry_without_meeting_content(
    clean: Services, settings: Settings, sentry_server: tuple[str, list[bytes]]
) -> None:
    dsn, envelopes = sentry_server
    app = create_app(
        msgspec.structs.replace(settings, server=msgspec.structs.replace(settings.server, sentry_dsn=dsn)),
        services=clean,
    )
    app.register(boom)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        response = await client.get("/v1/boom", params={"q": SENTENCE})
    sentry_sdk.flush(timeout=5)

    assert (response.status_code, response.json()) == (500, {"detail": "Internal server error"})
    [event] = _events(envelopes)
    [exception] = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert any(frame["function"] == "boom" for frame in exception["stacktrace"]["frames"])
    assert event["tags"]["process"] == "web"
    everything = b"".join(envelopes).decode()
    for fragment in ("secret merger", "Globex", "merger+with"):
        assert fragment not in everything
