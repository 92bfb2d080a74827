"""Several web processes behind one port (`WEB_CONCURRENCY`, which Heroku-style platforms set by themselves):
`reflector web` starts that many, and what one process does the others see, through Redis and PostgreSQL or
files they share: events, request figures, a live recording, the sign-in allowance. It used to make uvicorn
refuse the app object and `reflector web` exit."""

import asyncio
import http.client
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect

from reflector.bootstrap import Services
from reflector.domain.auth.limits import SIGN_IN
from reflector.pipelines import audio
from reflector.settings import Settings
from reflector.web.recording import STALLED_S
from tests.auth.conftest import provider, web_port  # noqa: F401 - fixtures
from tests.live_client import PacedRecording, live_recording
from tests.net import free_port, until_serving
from tests.oidc.process import Provider
from tests.paths import REAL, REPO

START_TIMEOUT = 120.0
# Connections opened until each process holds one: the kernel hands each to a process at random, so the
# chance that 60 all land on the same one of two is about 2 in 10^18.
TRIES = 60


class WebProcesses:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def pids(self) -> set[int]:
        """The web processes (uvicorn spawns them, beside multiprocessing's resource tracker)."""
        found = set()
        for child in psutil.Process(self.process.pid).children():
            try:
                if "spawn_main" in " ".join(child.cmdline()):
                    found.add(child.pid)
            except psutil.Error:  # gone meanwhile
                continue
        return found

    def serving(self, client_port: int) -> int:
        """The web process holding the server end of the loopback connection from `client_port` (once one
        has accepted it: a connection can wait in the listening socket's backlog a moment)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for pid in self.pids():
                for connection in psutil.Process(pid).net_connections(kind="tcp"):
                    if connection.raddr and connection.raddr.port == client_port and connection.laddr.port == self.port:
                        return pid
            time.sleep(0.05)
        raise AssertionError(f"no web process accepted the connection from port {client_port}")


@asynccontextmanager
async def web_processes(settings: Settings, count: int, **extra: str) -> AsyncIterator[WebProcesses]:
    port = free_port()
    env = {
        **extra,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": str(settings.database.url),
        "REDIS_URL": str(settings.redis.url),
        "DATA_DIR": str(settings.data_dir),
        "LOG_LEVEL": "warning",
        "WEB_CONCURRENCY": str(count),
    }
    command = [sys.executable, "-m", "reflector", "web", "--port", str(port)]
    with tempfile.TemporaryFile() as stderr:
        process = await asyncio.to_thread(subprocess.Popen, command, cwd=REPO, env=env, stderr=stderr)
        web = WebProcesses(process, port)
        try:
            await until_serving(process, f"{web.base}/health", stderr, START_TIMEOUT)
            deadline = time.monotonic() + START_TIMEOUT
            while len(web.pids()) < count:
                assert time.monotonic() < deadline, f"reflector web did not start {count} processes"
                await asyncio.sleep(0.2)
            yield web
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


async def test_web_concurrency_runs_that_many_web_processes(clean: Services, settings: Settings) -> None:
    async with web_processes(settings, 2) as web:
        async with httpx.AsyncClient(base_url=web.base) as client:
            answers = [(await client.get("/v1/transcripts")).status_code for _ in range(20)]
        assert set(answers) == {200}, answers
        assert len(web.pids()) == 2


async def _socket_on_each_process(web: WebProcesses, url: str) -> tuple[dict[int, ClientConnection], list[Any]]:
    by_process: dict[int, ClientConnection] = {}
    opened = []
    for _ in range(TRIES):
        socket = await connect(url)
        opened.append(socket)
        by_process.setdefault(web.serving(socket.local_address[1]), socket)
        if len(by_process) == 2:
            break
    return by_process, opened


async def _status_heard(socket: ClientConnection, wanted: str) -> None:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), 30))
        if message["event"] == "STATUS" and message["data"]["value"] == wanted:
            return


async def test_an_event_of_a_request_on_one_process_reaches_sockets_on_every_process(
    clean: Services, settings: Settings
) -> None:
    async with web_processes(settings, 2) as web, httpx.AsyncClient(base_url=web.base, timeout=30) as client:
        transcript_id = (await client.post("/v1/transcripts", json={"name": "Stand-up"})).json()["id"]
        url = f"ws://127.0.0.1:{web.port}/v1/transcripts/{transcript_id}/events"
        by_process, opened = await _socket_on_each_process(web, url)
        try:
            assert len(by_process) == 2, f"{len(opened)} sockets all reached one process"
            # One request, served by one of the two processes: its STATUS event reaches both sockets.
            uploaded = await client.post(
                f"/v1/transcripts/{transcript_id}/record/upload",
                params={"chunk_number": 0, "total_chunks": 1},
                files={"chunk": ("jfk.flac", (REAL / "jfk.flac").read_bytes(), "application/octet-stream")},
            )
            assert uploaded.status_code == 200, uploaded.text
            await asyncio.gather(*(_status_heard(socket, "uploaded") for socket in by_process.values()))
        finally:
            await asyncio.gather(*(socket.close() for socket in opened))


def _requests_counted(metrics: str, route: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "reflector_http_request_duration_seconds_count" and sample.labels["route"] == route
    )


async def test_metrics_count_the_requests_of_every_process(clean: Services, settings: Settings) -> None:
    async with web_processes(settings, 2) as web:

        def connection_on_each_process() -> dict[int, http.client.HTTPConnection]:
            by_process: dict[int, http.client.HTTPConnection] = {}
            for _ in range(TRIES):
                connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
                connection.connect()
                if by_process.setdefault(web.serving(connection.sock.getsockname()[1]), connection) is not connection:
                    connection.close()
                if len(by_process) == 2:
                    break
            return by_process

        def get(connection: http.client.HTTPConnection, path: str) -> str:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read().decode()
            assert response.status == 200, body
            return body

        by_process = await asyncio.to_thread(connection_on_each_process)
        assert len(by_process) == 2
        first, second = by_process.values()
        before = _requests_counted(await asyncio.to_thread(get, first, "/metrics"), "/v1/transcripts")
        for _ in range(7):
            await asyncio.to_thread(get, first, "/v1/transcripts")
        for _ in range(5):
            await asyncio.to_thread(get, second, "/v1/transcripts")

        # Whichever process answers the scrape, it counts the twelve.
        scraped = [await asyncio.to_thread(get, connection, "/metrics") for connection in (first, second)]
        assert [_requests_counted(text, "/v1/transcripts") - before for text in scraped] == [12, 12]


async def _client_on_a_process(web: WebProcesses, other_than: int | None = None) -> tuple[httpx.AsyncClient, int]:
    """An HTTP client whose one kept-alive connection a web process other than `other_than` holds, and its pid."""
    for _ in range(TRIES):
        client = httpx.AsyncClient(base_url=web.base, timeout=30, limits=httpx.Limits(max_connections=1))
        response = await client.get("/health")
        client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
        pid = await asyncio.to_thread(web.serving, client_port)
        if pid != other_than:
            return client, pid
        await client.aclose()
    raise AssertionError(f"{TRIES} connections all reached process {other_than}")


async def test_a_browser_coming_back_through_the_other_process_goes_on_with_its_recording(
    clean: Services, settings: Settings
) -> None:
    speech = audio.decode(REAL / "jfk.flac")
    async with web_processes(settings, 2) as web:
        first, recording_process = await _client_on_a_process(web)
        transcript_id = (await first.post("/v1/transcripts", json={"name": "Live"})).json()["id"]
        opening = PacedRecording(speech[: 16_000 * 4])
        async with live_recording(first, transcript_id, opening):
            await opening.passed()
        # The browser's connection dropped (no audio for a while, so even a peer not told counts as gone); it
        # comes back with a new offer, which the other process gets.
        await asyncio.sleep(STALLED_S + 1)
        second, _ = await _client_on_a_process(web, other_than=recording_process)
        rest = PacedRecording(speech[16_000 * 4 :])
        async with live_recording(second, transcript_id, rest) as peer:
            await rest.passed()
            await asyncio.sleep(0.5)
            peer.stop()
            deadline = time.monotonic() + 30
            while (transcript := await clean.transcripts.get(transcript_id)).status == "recording":
                assert time.monotonic() < deadline, "the recording did not end after STOP"
                await asyncio.sleep(0.2)
        await asyncio.gather(first.aclose(), second.aclose())
    # One recording holding both parts, queued once.
    assert transcript.status in ("uploaded", "processing"), transcript.status
    assert 9_500 <= transcript.duration <= 12_500, transcript.duration
    assert await clean.runs.active_run(transcript_id) is not None


async def test_the_sign_in_allowance_is_one_across_processes(
    clean: Services,
    settings: Settings,
    provider: Provider,  # noqa: F811 - the imported fixture
) -> None:
    accounts = {
        "AUTH_BACKEND": "oidc",
        "SECRET_KEY": secrets.token_hex(32),
        "OIDC_ISSUER": provider.issuer,
        "OIDC_CLIENT_ID": provider.client_id,
        "OIDC_CLIENT_SECRET": provider.client_secret,
    }
    async with web_processes(settings, 2, **accounts) as web:
        first, first_process = await _client_on_a_process(web)
        second, _ = await _client_on_a_process(web, other_than=first_process)
        # The one client address starts sign-ins through both processes in turn (neither connection idles).
        statuses = [(await (first, second)[n % 2].get("/login")).status_code for n in range(SIGN_IN.allowance)]
        assert statuses == [303] * SIGN_IN.allowance
        assert [(await client.get("/login")).status_code for client in (first, second)] == [429, 429]
        await asyncio.gather(first.aclose(), second.aclose())
