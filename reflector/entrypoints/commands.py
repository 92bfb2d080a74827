"""What each `reflector` sub-command does."""

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import structlog
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from reflector.pipelines.meeting import ANALYSIS_STEPS, PipelineOptions
from reflector.pipelines.names import parse_names
from reflector.settings import Settings, exposure_refusal, is_loopback
from reflector.user_error import UserError

log = structlog.get_logger(__name__)
T = TypeVar("T")
console = Console(stderr=True)


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    handler = {
        "run": _run,
        "web": _web,
        "worker": _worker,
        "live": _live,
        "migrate": _migrate,
        "models": _models,
        "process": _process,
        "submit": _submit,
        "show": _show,
        "user": _user,
        "platforms": _platforms,
    }[args.command]
    return handler(args, settings)


def _options(args: argparse.Namespace) -> PipelineOptions:
    return PipelineOptions(
        language=None if args.language == "auto" else args.language,
        diarize=not args.no_diarize,
        summarize=not args.no_summary,
        num_speakers=args.speakers,
        participants=tuple(parse_names(args.participants)),
    )


def _with_server(settings: Settings, args: argparse.Namespace) -> Settings:
    server = msgspec.structs.replace(
        settings.server,
        port=args.port if args.port is not None else settings.server.port,
        host=args.host or settings.server.host,
    )
    return msgspec.structs.replace(settings, server=server)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from reflector.entrypoints.supervisor import supervise

    return supervise(_exposed_safely(_with_server(settings, args)))


def _web(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from reflector.web.proxies import InvalidProxyList, uvicorn_proxy_options

    settings = _exposed_safely(_with_server(_require_urls(settings), args))
    try:
        proxies = uvicorn_proxy_options(settings.server.forwarded_allow_ips)
    except InvalidProxyList as exc:
        raise UserError(str(exc)) from exc
    server = settings.server
    options: dict[str, Any] = {"host": server.host, "port": server.port, "log_level": "warning", **proxies}
    if server.web_concurrency <= 1:
        from reflector.web.app import create_app

        uvicorn.run(create_app(settings), workers=1, **options)
        return 0
    # Several processes need the app by name: each builds its own from the same environment. This one only
    # starts and watches them, so it leaves the app unimported (a web process's memory, for nothing).
    os.environ.update({"HOST": server.host, "PORT": str(server.port)})
    with _shared_metrics_dir():
        uvicorn.run(APP_FACTORY, factory=True, workers=server.web_concurrency, **options)
    return 0


# What uvicorn imports in each of several web processes.
APP_FACTORY = "reflector.web.app:app_from_environment"
# prometheus_client's multiprocess directory, which `reflector.web.observability` reads too.
_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def _shared_metrics_dir() -> Iterator[None]:
    """Several web processes write their request figures to files in one directory that `/metrics` adds up
    (prometheus_client's multiprocess mode), whichever process a scrape reaches; a fresh one per start, so
    counts of an earlier run never join in. A directory the environment names already is used as it is."""
    if _METRICS_DIR in os.environ:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="reflector-metrics-") as directory:
        os.environ[_METRICS_DIR] = directory
        try:
            yield
        finally:
            del os.environ[_METRICS_DIR]


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from reflector.entrypoints.worker import run_worker

    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    asyncio.run(run_worker(_require_urls(settings), queues, burst=args.burst))
    return 0


def _live(args: argparse.Namespace, settings: Settings) -> int:
    from reflector.entrypoints.live_worker import run_live_worker

    asyncio.run(run_live_worker(_require_urls(settings)))
    return 0


def _exposed_safely(settings: Settings) -> Settings:
    refusal = exposure_refusal(settings)
    if refusal is not None:
        raise UserError(refusal)
    if settings.auth.backend == "none" and not is_loopback(settings.server.host):
        risk = "no accounts: anyone who can reach this port can read, change and delete every transcript"
        log.warning("web.open_to_network", host=settings.server.host, risk=risk)
    return settings


def _require_urls(settings: Settings) -> Settings:
    if settings.database.url is None or settings.redis.url is None:
        raise UserError("set DATABASE_URL and REDIS_URL, or use `reflector run` which starts its own")
    return settings


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from reflector.entrypoints.migrate import migrate

    with _local_services(settings) as settings:
        _against_servers(settings, migrate(settings))
    return 0


def _models(args: argparse.Namespace, settings: Settings) -> int:
    from reflector.entrypoints.supervisor import prepare_models

    prepare_models(settings)
    return 0


class _StepProgress:
    """A rich progress bar per pipeline step."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    async def started(self, step: str) -> None:
        self._tasks[step] = self._progress.add_task(step, total=1.0)

    def progress(self, step: str, fraction: float) -> None:
        if step in self._tasks:
            self._progress.update(self._tasks[step], completed=fraction)

    async def finished(self, step: str, seconds: float, output: Any) -> None:
        self._progress.update(self._tasks[step], completed=1.0, description=f"{step} ({seconds:.1f} s)")

    async def restored(self, step: str, output: Any) -> None:
        pass  # `process` keeps its checkpoints in memory: nothing to restore


def _process(args: argparse.Namespace, settings: Settings) -> int:
    from reflector.entrypoints.speech_process import SpeechStageDied, run_speech_stage
    from reflector.model_registry import ModelRegistry
    from reflector.pipelines.formats import render
    from reflector.pipelines.meeting import MeetingPipeline, MemoryCheckpoints, build_result
    from reflector.pipelines.protocols import AudioError, ModelUnavailable
    from reflector.pipelines.speaker_naming import infer_speaker_names

    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file")
    options = _options(args)
    columns = (TextColumn("{task.description:<22}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"))
    checkpoints = MemoryCheckpoints()
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=False) as progress:
        observer = _StepProgress(progress)
        try:
            # In a child process: what the speech models leave behind does not sit under the LLM stage.
            outputs = asyncio.run(run_speech_stage(settings, options, args.file, checkpoints, observer))
            # Speakers the meeting names are named in the analysis too, as a worker's run does.
            names = {n.speaker: n.name for n in infer_speaker_names(outputs.words or [], options.participants)}
            analysis = MeetingPipeline(ModelRegistry(settings), options, checkpoints, observer, speaker_names=names)
            turns = outputs.turns
            outputs = asyncio.run(analysis.run(None, ANALYSIS_STEPS))
            outputs.turns = turns  # who spoke when, for the result's timeline (overlaps, wordless speech)
        except (AudioError, ModelUnavailable, SpeechStageDied) as exc:
            raise UserError(f"{args.file}: {exc}") from exc
    text = render(build_result(outputs, options.language or "en", names), args.format)
    _write(text, args.out)
    return 0


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        out.write_text(text)
        console.print(f"wrote {out}")


def _submit(args: argparse.Namespace, settings: Settings) -> int:
    from reflector.bootstrap import start_services, stop_services
    from reflector.domain.transcripts.models import NewTranscript

    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file")

    async def submit(settings: Settings) -> str:
        services = await start_services(settings)
        try:
            language = "en" if args.language == "auto" else args.language
            transcript = await services.transcripts.create(
                NewTranscript(name=args.name or args.file.name, source_language=language)
            )
            await services.transcripts.store_upload(transcript.id, args.file)
            await services.runs.request(transcript.id, _options(args))
            if args.wait:
                await _follow(services, transcript.id)
            return transcript.id
        finally:
            await stop_services(services)

    with _local_services(settings) as settings:
        transcript_id = _against_servers(settings, submit(settings))
    print(transcript_id)
    return 0


async def _follow(services: Any, transcript_id: str) -> None:
    from reflector.adapters.events import decode_event, transcript_channel
    from reflector.domain.events import ProgressEvent, StatusEvent, parse

    pubsub = services.redis.pubsub()
    await pubsub.subscribe(transcript_channel(transcript_id))
    try:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            if message is None:
                status = (await services.transcripts.get(transcript_id)).status
                if status in ("ended", "error"):
                    return
                continue
            envelope = decode_event(message["data"])
            event = parse(envelope.event, envelope.data)
            if isinstance(event, ProgressEvent):
                console.print(f"{event.data.step:<10} {event.data.overall:6.1%}", highlight=False)
            elif isinstance(event, StatusEvent):
                console.print(f"status {event.data.value}")
                if event.data.value in ("ended", "error"):
                    return
    finally:
        await pubsub.aclose()


def _show(args: argparse.Namespace, settings: Settings) -> int:
    from reflector.bootstrap import start_services, stop_services
    from reflector.domain.transcripts.models import TranscriptNotFound
    from reflector.domain.transcripts.service import meeting_result
    from reflector.pipelines.formats import render

    async def show(settings: Settings) -> str:
        services = await start_services(settings)
        try:
            transcript = await services.transcripts.get(args.id)
            if transcript.status != "ended":
                console.print(f"status: {transcript.status} {transcript.error}".rstrip())
            return render(await meeting_result(services.transcripts, args.id), args.format)
        except TranscriptNotFound as exc:
            raise UserError(str(exc)) from exc
        finally:
            await stop_services(services)

    with _local_services(settings) as settings:
        _write(_against_servers(settings, show(settings)), None)
    return 0


def _user(args: argparse.Namespace, settings: Settings) -> int:
    """`reflector user list|promote|demote`: the operator's way to name admins (and take it back)."""
    from reflector.bootstrap import start_services, stop_services
    from reflector.domain.auth.models import RoleChangeRefused, UserNotFound

    if args.action != "list" and not args.who:
        raise UserError(f"reflector user {args.action} needs the user's email or id")

    async def change(settings: Settings) -> str:
        services = await start_services(settings)
        try:
            if args.action == "list":
                users = await services.auth.users()
                return "".join(f"{u.id}\t{u.role}\t{u.email or '-'}\t{u.name}\n" for u in users)
            role = "admin" if args.action == "promote" else "user"
            user = await services.auth.set_role(args.who, role, by="cli")
            return f"{user.email or user.id} is now {'an admin' if role == 'admin' else 'a user'}\n"
        except (UserNotFound, RoleChangeRefused) as exc:
            raise UserError(str(exc)) from exc
        finally:
            await stop_services(services)

    with _local_services(settings) as settings:
        sys.stdout.write(_against_servers(settings, change(settings)))
    return 0


def _platforms(args: argparse.Namespace, settings: Settings) -> int:
    """`reflector platforms check`: what is configured, and Daily's webhook created or made ACTIVE again."""
    from reflector.platform_check import check_platforms, daily_webhook_url

    url = args.webhook_url or daily_webhook_url(settings.server.base_url)
    report = asyncio.run(check_platforms(settings.platforms, url))
    sys.stdout.write("".join(line + "\n" for line in report.lines))
    return 0 if report.ok else 1


def _against_servers(settings: Settings, work: Coroutine[Any, Any, T]) -> T:
    """Run a command's work on PostgreSQL and Redis; a server that is absent or goes away mid-way is
    one sentence, not a traceback."""
    import asyncpg
    import redis.exceptions

    try:
        return asyncio.run(work)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise UserError(
            f"lost the connection to Redis ({_where(settings.redis.url)}): {_reason(exc)}. "
            "Is Reflector running (`reflector run`)? Try again once it is."
        ) from exc
    except (OSError, asyncpg.exceptions.PostgresConnectionError, asyncpg.exceptions.InterfaceError) as exc:
        # Redis errors are its own; a bare connection failure is asyncpg's (a full disk is not one).
        if isinstance(exc, OSError) and not _is_connection_failure(exc):
            raise
        raise UserError(
            f"cannot reach PostgreSQL ({_where(settings.database.url)}): {_reason(exc)}. "
            "Is Reflector running (`reflector run`)? Try again once it is."
        ) from exc


def _is_connection_failure(exc: OSError) -> bool:
    import socket

    # asyncpg reports every address of a host name failing as one OSError("Multiple exceptions: ...").
    return isinstance(exc, ConnectionError | socket.gaierror | TimeoutError) or str(exc).startswith("Multiple")


def _where(url: str | None) -> str:
    """A server's address without its password."""
    if not url:
        return "the private one under DATA_DIR"
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname or parts.path}:{parts.port}" if parts.port else (parts.hostname or parts.path or url)


def _reason(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).rstrip(".").splitlines()[0]


def _local_services(settings: Settings) -> Any:
    from reflector.entrypoints.supervisor import local_services

    return local_services(settings)
