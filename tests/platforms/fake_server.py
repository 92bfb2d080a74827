"""What the fake platforms share: a tiny ASGI router (no framework between the test and the wire), served
by uvicorn on 127.0.0.1 in a thread of its own, so sync and async tests alike can call it, and a log of the
requests it answered."""

import asyncio
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import msgspec
import uvicorn


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # the path's named groups

    def json(self) -> Any:
        return msgspec.json.decode(self.body) if self.body else {}


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[FakeRequest], Awaitable[Reply]]


class FakePlatform:
    """Routes `(method, path pattern)` to handlers; `authorize` runs first and may refuse with a Reply."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[FakeRequest] = []
        self.base_url = ""

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    async def authorize(self, request: FakeRequest) -> Reply | None:
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = FakeRequest(
            method=scope["method"],
            path=scope["path"],
            query=dict(parse_qsl(scope["query_string"].decode())),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
        )
        self.requests.append(request)
        reply = await self.answer(request)
        content = b"" if reply.body is None else msgspec.json.encode(reply.body)
        extra = [(k.encode(), v.encode()) for k, v in reply.headers.items()]
        headers = [(b"content-type", b"application/json"), *extra]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def answer(self, request: FakeRequest) -> Reply:
        refusal = await self.authorize(request)
        if refusal is not None:
            return refusal
        known_path = False
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            known_path = True
            if method == request.method:
                request.params = match.groupdict()
                return await handler(request)
        if known_path:
            return Reply(405, {"error": "method-not-allowed"})
        return Reply(404, {"error": "not-found", "info": f"no route {request.method} {request.path}"})


class Served:
    """`platform` served by uvicorn on a free loopback port, in a daemon thread with its own event loop."""

    def __init__(self, platform: FakePlatform) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        platform.base_url = self.url
        config = uvicorn.Config(platform, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"fake-{type(platform).__name__}", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # reported by start()
            self._error = exc

    def start(self) -> "Served":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the fake server did not start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the fake server did not start within 10 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


class Inbox(FakePlatform):
    """A webhook receiver for the fakes to deliver to: it keeps what arrived and answers `status` (a test
    changes it to make deliveries fail)."""

    def __init__(self, status: int = 200) -> None:
        super().__init__()
        self.status = status

    @property
    def url(self) -> str:
        return f"{self.base_url}/hook"

    async def answer(self, request: FakeRequest) -> Reply:
        return Reply(self.status, {"received": True})

    async def received(self, count: int, within_s: float = 5.0) -> list[FakeRequest]:
        """Wait until `count` requests have arrived (webhooks sent in the background); them."""
        deadline = time.monotonic() + within_s
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} webhooks arrived within {within_s} s, not {count}")
            await asyncio.sleep(0.02)
        return self.requests

    def events(self) -> list[Any]:
        """The JSON bodies received, Daily's {"test":"test"} included."""
        return [request.json() for request in self.requests]
