"""Hostile input on every route of the app, API, pages and WebSockets alike: never a 5xx, never a 1011.

Each route is found in the app itself (as the authorization matrix does), so a route added later is
fuzzed without an edit here. Every path parameter in turn gets NULs, huge numbers, 10 kB strings,
traversals, odd Unicode and empty-ish values; then, with real ids, the common list and search
parameters get the same; then an unsafe method gets a body of such strings. Each request goes once
anonymous and once as an administrator who owns the transcript, so the refusals and the handlers
behind them are both reached.
"""

import json
import re
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import httpx

from reflector.bootstrap import Services
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.auth.conftest import oidc_settings_for, services_for
from tests.auth.hostile import owner_of, transcript_of
from tests.auth.test_matrix import app_routes
from tests.meeting_platform import RecordingPlatform, with_platform
from tests.net import serve, socket_outcome
from tests.oidc.process import Provider

# As they appear in the URL: percent-encodings stay as written, for the server to decode.
HOSTILE_PATH_VALUES = [
    "%00",
    "abc%00def",
    "9" * 40,
    "-1",
    "a" * 10_240,
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e",
    "%C3%A9t%C3%A9%F0%9F%98%80",  # été😀
    "%E2%80%AE%EF%BF%BF",  # right-to-left override, a noncharacter
    "%ED%A0%80",  # a UTF-16 surrogate as UTF-8, which is not UTF-8
    "%FF%FE",
    "%20",
    "%09",
    "null",
    "%27%20OR%201%3D1--",
]
HOSTILE_QUERY_VALUES = [
    "%00",
    "9" * 40,
    "-" + "9" * 40,
    "1e999",
    "NaN",
    "b" * 2_048,  # five of these make a 10 kB query string
    "%ED%A0%80",
    "%F0%9F%98%80",
    "%20",
]
QUERY_NAMES = ("page", "size", "offset", "limit", "q")
# A body for whatever the route reads: hostile text in every text field with sane numbers, then the reverse.
TEXT_FIELDS = ("name", "title", "short_summary", "q", "sdp", "next", "text", "new_name")
NUMBER_FIELDS = ("speaker", "topic", "index", "first", "last", "speaker_from", "speaker_to", "timestamp_from")
HOSTILE_BODY_TEXT = ["a\x00b", "x" * 10_240, "\u00e9\U0001f600\u202e"]
# Written out, as they travel: 5,000 digits is past what Python's int() parses by default.
HOSTILE_BODY_NUMBERS = ["9" * 20, "-" + "9" * 20, "9" * 5000]


def bodies() -> list[dict[str, Any]]:
    def body(text: str, number: str) -> dict[str, Any]:
        return {
            **dict.fromkeys(TEXT_FIELDS, text),
            **dict.fromkeys(NUMBER_FIELDS, number),
            "timestamp_to": 1.0,
            "target": f"speaker:{number}" if text == "Ana" else text,
            "type": "offer",
            "confirmed": "yes",
            "participants": [{"name": text, "speaker": number}],
        }

    # Languages apart: a route that checks them first would refuse every body before reading its names.
    languages = {**body("Ana", "1"), "source_language": "x" * 10_240, "target_language": "\x00"}
    return (
        [body(text, "1") for text in HOSTILE_BODY_TEXT] + [body("Ana", n) for n in HOSTILE_BODY_NUMBERS] + [languages]
    )


def encoded(body: dict[str, Any], page: bool) -> tuple[bytes, str]:
    """The body as the route's own clients send it: a form for a page, JSON for the API."""
    if page:
        flat = {k: v for k, v in body.items() if not isinstance(v, list)}
        return urlencode(flat).encode(), "application/x-www-form-urlencoded"
    # Numbers go in unquoted, digit for digit: json.dumps cannot write one this long.
    document = json.dumps(body)
    for field in NUMBER_FIELDS:
        document = document.replace(f'"{field}": "{body[field]}"', f'"{field}": {body[field]}')
    return document.encode(), "application/json"


def fill(template: str, values: dict[str, str], hostile: str | None = None) -> str:
    """The template with real ids, or with `hostile` in every parameter."""
    # A room webhook's delivery has no row of its own here: an id that finds none (a 404).
    real = {
        **values,
        "file_path": "app.css",
        "account_id": values["user_id"],
        "delivery_id": "no-such-delivery",
        "stream_id": "1",
    }
    return re.sub(r"\{(\w+)\}", lambda m: hostile if hostile is not None else real[m.group(1)], template)


def hostile_query(value: str) -> str:
    return "?" + "&".join(f"{name}={value}" for name in QUERY_NAMES)


def _not_ready(template: str, response: httpx.Response) -> bool:
    # No worker runs in this test, and readiness says so to anyone: its 503 is the truth, not a failure.
    return template == "/health/ready" and response.status_code == 503


def _shown(url: str) -> str:
    return url if len(url) < 160 else f"{url[:150]}…({len(url)} chars)"


async def test_no_route_answers_hostile_input_with_a_server_error(
    clean: Services, settings: Settings, provider: Provider, web_port: int
) -> None:
    oidc = oidc_settings_for(settings, provider, web_port)
    services = with_platform(services_for(clean, oidc), RecordingPlatform())
    app = create_app(oidc, services=services)
    routes = sorted(app_routes(app, preflights=True))
    owner = await owner_of(services, provider)
    failures: list[str] = []
    socket_ends: Counter[str] = Counter()
    sent = 0

    async def fresh_rows() -> dict[str, str]:
        # A request that changes something may delete or lock what it names: each gets rows of its own.
        return await transcript_of(services, owner.user_id)

    async with serve(app, port=web_port) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        for method, template in routes:
            page = not template.startswith("/v1")
            # A fresh session each time: one of these routes is the sign-out, which ends the one it was given.
            assert services.sessions is not None
            owner.cookie = await services.sessions.start(owner.user_id)
            real = dict(vars(owner))
            if method not in ("GET", "HEAD", "OPTIONS", "WS"):
                real.update(await fresh_rows())
            urls = [fill(template, real, hostile) for hostile in HOSTILE_PATH_VALUES if "{" in template]
            urls += [fill(template, real) + hostile_query(value) for value in HOSTILE_QUERY_VALUES]
            for who, headers in (("anonymous", {}), ("owner", owner.page if page else owner.api)):
                for url in urls:
                    sent += 1
                    if method == "WS":
                        ws_url = base.replace("http://", "ws://") + url
                        end = await socket_outcome(ws_url, headers={"X-API-Key": owner.key} if who == "owner" else {})
                        socket_ends[end] += 1
                        code = int(end.split()[1]) if end != "open" else 0
                        bad = end.startswith("handshake") and code >= 500
                        if bad or (end.startswith("closed") and not 4000 <= code < 5000 and code != 1000):
                            failures.append(f"WS {_shown(url)} as {who}: {end}")
                        continue
                    response = await http.request(method, url, headers=headers)
                    if response.status_code >= 500 and not _not_ready(template, response):
                        failures.append(
                            f"{method} {_shown(url)} as {who}: {response.status_code} {response.text[:120]}"
                        )
                if method not in ("POST", "PATCH", "PUT", "DELETE"):
                    continue
                for body in bodies():
                    sent += 1
                    url = fill(template, {**real, **await fresh_rows()})
                    content, kind = encoded(body, page)
                    sending = {**headers, "Content-Type": kind}
                    response = await http.request(method, url, headers=sending, content=content)
                    if response.status_code >= 500:
                        shown = {k: str(v)[:20] for k, v in body.items() if k in ("name", "speaker")}
                        failures.append(f"{method} {url} with body {shown} as {who}: {response.status_code}")

    print(f"\nhostile input: {len(routes)} routes, {sent} requests, {len(failures)} server errors")
    assert not failures, "\n".join(failures[:60])
    # The sockets were reached, not refused at the door: hostile ids found nothing, real ones opened.
    assert socket_ends["closed 4404"] and socket_ends["open"], socket_ends
