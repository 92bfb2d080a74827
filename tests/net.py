"""Loopback ports for the servers a test starts, the app served on one, a server process waited for, and
how a WebSocket answers."""

import asyncio
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO

import httpx
import uvicorn
from litestar import Litestar
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def serve(app: Litestar, port: int | None = None) -> AsyncIterator[str]:
    """`app` on a loopback port (uvicorn in the test's loop), for WebSockets and true HTTP; its base URL.

    Pass `port` when the URL must be known before the app is built (an OIDC redirect URI names it)."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # it failed to start: say why
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def until_serving(process: subprocess.Popen[bytes], url: str, log: IO[bytes], within_s: float) -> None:
    """Wait until the server `process` answers `url` with 200; fail with what it wrote to `log` if it exits
    first or stays silent past `within_s` seconds."""
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log.seek(0)
                raise AssertionError(f"{process.args} exited {process.returncode}: {log.read().decode()}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    log.seek(0)
    raise AssertionError(f"{process.args} did not answer within {within_s:.0f} s: {log.read().decode()}")


async def socket_outcome(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    subprotocols: list[str] | None = None,
    origin: str | None = None,
    quiet_s: float = 0.3,
) -> str:
    """How a WebSocket answers: 'open' (still open once `quiet_s` passes without a frame), 'closed <code>',
    or 'handshake <status>' when the upgrade itself is refused."""
    try:
        async with connect(
            url,
            additional_headers=headers or {},
            subprotocols=subprotocols,
            origin=origin,
            max_size=None,  # type: ignore[arg-type]
        ) as ws:
            while True:
                await asyncio.wait_for(ws.recv(), quiet_s)
    except TimeoutError:
        return "open"
    except ConnectionClosed as closed:
        return f"closed {closed.rcvd.code if closed.rcvd else 1006}"
    except InvalidStatus as refused:
        return f"handshake {refused.response.status_code}"
