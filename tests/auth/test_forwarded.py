"""Who the client is, as the real `reflector web` process decides it: X-Forwarded-For is believed only from
the proxies FORWARDED_ALLOW_IPS names, so a forged header cannot buy a fresh sign-in allowance."""

import asyncio
import itertools
import secrets
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx

from reflector.bootstrap import Services
from reflector.domain.auth.limits import SIGN_IN
from reflector.settings import Settings
from tests.net import free_port, until_serving
from tests.oidc.process import Provider
from tests.paths import REPO

START_TIMEOUT = 120.0  # a first start on a busy machine compiles every module


def _environment(settings: Settings, provider: Provider, port: int, **extra: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": str(settings.database.url),
        "REDIS_URL": str(settings.redis.url),
        "DATA_DIR": str(settings.data_dir),
        "LOG_LEVEL": "warning",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "AUTH_BACKEND": "oidc",
        "SECRET_KEY": secrets.token_hex(32),
        "OIDC_ISSUER": provider.issuer,
        "OIDC_CLIENT_ID": provider.client_id,
        "OIDC_CLIENT_SECRET": provider.client_secret,
        **extra,
    }


@asynccontextmanager
async def _web(settings: Settings, provider: Provider, **extra: str) -> AsyncIterator[str]:
    """`reflector web` as deployed, on a loopback port; its base URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "reflector", "web", "--host", "127.0.0.1", "--port", str(port)]
    env = _environment(settings, provider, port, **extra)
    # A file, not a pipe: nobody reads stderr while the test runs, and a full pipe would stall the server.
    with tempfile.TemporaryFile() as stderr:
        process = await asyncio.to_thread(subprocess.Popen, command, cwd=REPO, env=env, stderr=stderr)
        try:
            await until_serving(process, f"http://127.0.0.1:{port}/health", stderr, START_TIMEOUT)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


async def _sign_ins(client: httpx.AsyncClient, forwarded_for: Iterator[str | None], count: int) -> list[int]:
    """The status of `count` starts of a sign-in, each with the next X-Forwarded-For (None: no header)."""
    statuses = []
    for _ in range(count):
        value = next(forwarded_for)
        headers = {"X-Forwarded-For": value} if value is not None else {}
        statuses.append((await client.get("/login", headers=headers)).status_code)
    return statuses


async def test_a_peer_that_is_no_trusted_proxy_cannot_forge_its_address(
    clean: Services, settings: Settings, provider: Provider
) -> None:
    async with _web(settings, provider) as url, httpx.AsyncClient(base_url=url) as attacker:
        # Every start claims another client address; all are counted as the one real peer's.
        forged = (f"198.51.100.{n}" for n in range(1, 256))
        statuses = await _sign_ins(attacker, forged, SIGN_IN.allowance + 1)
        assert statuses[:-1] == [303] * SIGN_IN.allowance
        assert statuses[-1] == 429


async def test_a_trusted_proxys_clients_are_counted_apart(
    clean: Services, settings: Settings, provider: Provider
) -> None:
    async with (
        _web(settings, provider, FORWARDED_ALLOW_IPS="10.0.0.1, 127.0.0.0/8") as url,
        httpx.AsyncClient(base_url=url) as proxy,
    ):
        statuses = await _sign_ins(proxy, itertools.repeat("203.0.113.7"), SIGN_IN.allowance + 1)
        assert statuses[:-1] == [303] * SIGN_IN.allowance and statuses[-1] == 429
        # That client is spent; another behind the same proxy, and the proxy itself, are not.
        assert await _sign_ins(proxy, iter(["203.0.113.8", None]), 2) == [303, 303]


async def test_a_proxy_list_that_is_not_addresses_stops_the_start(settings: Settings, provider: Provider) -> None:
    port = free_port()
    env = _environment(settings, provider, port, FORWARDED_ALLOW_IPS="10.0.0.1,proxy.internal")
    command = [sys.executable, "-m", "reflector", "web", "--port", str(port)]
    started = await asyncio.to_thread(
        subprocess.run, command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 1
    assert "FORWARDED_ALLOW_IPS='10.0.0.1,proxy.internal': 'proxy.internal' is not an IP address" in started.stderr
