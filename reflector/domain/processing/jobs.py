"""The worker's jobs: load a run's inputs, call the file pipeline, save each step, publish events.

Speech (decode, transcribe, diarize, assemble) and analysis (topics, summaries) are separate jobs on
separate queues, so an LLM never runs beside a transcription and short work passes long work.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import structlog

from reflector.adapters.outages import UNREACHABLE, is_outage, through_outage
from reflector.adapters.storage import Storage, StorageFull
from reflector.domain.events import ProgressData, ProgressEvent
from reflector.domain.processing import multitrack_runs
from reflector.domain.processing.holders import Holder
from reflector.domain.processing.lifecycle import RunLifecycle
from reflector.domain.processing.models import JobPolicy, RunView
from reflector.domain.processing.scratch import scratch_dir
from reflector.domain.processing.steps import StepWriter
from reflector.domain.transcripts.models import AudioDeleted, NoUpload
from reflector.domain.transcripts.service import StorageCheckpoints, TranscriptService
from reflector.pipelines.meeting import (
    ANALYSIS_STEPS,
    SPEECH_STEPS,
    STEP_WEIGHTS,
    Gate,
    MeetingPipeline,
    Models,
    PipelineOptions,
)
from reflector.pipelines.multitrack import MultitrackPipeline
from reflector.pipelines.protocols import AudioError, ModelUnavailable

if TYPE_CHECKING:
    # The service queues these jobs by their declarations below.
    from reflector.domain.processing.service import ProcessingService

log = structlog.get_logger(__name__)

NOT_IN_THIS_STORAGE = (
    "The worker cannot find the recording in its storage, though the server that received it has it: with "
    "TRANSCRIPT_STORAGE_BACKEND=local each machine keeps its own files, so workers on other machines need "
    "TRANSCRIPT_STORAGE_BACKEND=aws (S3 storage shared by all). Retry once they share it."
)


class JobServices(msgspec.Struct):
    """What a job needs, built once per worker process by the composition root."""

    transcripts: TranscriptService
    runs: "ProcessingService"
    storage: Storage
    models: Models
    gate: Gate
    holder: Holder
    heartbeat_s: float = 5.0
    # Where the video platforms write recordings (their bucket); None: the transcripts' own store.
    recordings: Storage | None = None
    # Set when the worker process is told to stop: its runs go to the next worker at once.
    stopping: asyncio.Event = msgspec.field(default_factory=asyncio.Event)


class RunObserver:
    """Turns step notifications into run-row updates, domain writes and progress events."""

    def __init__(self, services: JobServices, run: RunView, transcript_id: str, owner: str | None) -> None:
        self._services = services
        self._lifecycle = services.runs.lifecycle
        self._run = run
        self._transcript_id = transcript_id
        self._writer = StepWriter(services.transcripts, services.storage, transcript_id, owner)
        self._loop = asyncio.get_running_loop()
        self._began = time.monotonic()
        self._last_sent = 0.0
        self._done = sum(STEP_WEIGHTS[s] for s in run.timings)
        # Work finished by earlier jobs of the run says nothing about this job's pace.
        self._done_before = self._done
        # Steps in flight (transcribe and diarize run together) and how far each has got.
        self._running: dict[str, float] = {}

    async def started(self, step: str) -> None:
        self._running[step] = 0.0
        await through_outage(lambda: self._lifecycle.step_started(self._run.id, step), what="step_started")
        await self._publish(step, 0.0)

    def progress(self, step: str, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last_sent < 0.5 and fraction < 1.0:
            return
        self._last_sent = now
        asyncio.run_coroutine_threadsafe(self._publish(step, fraction), self._loop)

    async def finished(self, step: str, seconds: float, output: Any) -> None:
        # The step's results are written before it is recorded as done: a worker killed in between
        # leaves it not done, and the next one writes them again from the checkpoint (`restored`).
        # A server restarting meanwhile is waited for: the work is done, only its writing is left (each
        # write is safe to repeat: a step written again replaces its events).
        await through_outage(lambda: self._writer.write(step, output), what=f"{step} results")
        await through_outage(lambda: self._lifecycle.step_finished(self._run.id, step, seconds), what="step_finished")
        self._running.pop(step, None)
        self._done += STEP_WEIGHTS[step]
        await self._publish(step, 1.0)

    async def restored(self, step: str, output: Any) -> None:
        # Decode's results are written from the audio, which a checkpoint does not hold; the pipeline
        # decodes again whenever a later speech step is missing, and a later step's checkpoint means
        # decode's writes were done.
        if step in self._run.timings or step == "decode":
            return
        log.info("step.rewritten", step=step, reason="checkpoint saved, results not recorded")
        await through_outage(lambda: self._writer.write(step, output), what=f"{step} results")
        await through_outage(lambda: self._lifecycle.step_finished(self._run.id, step, 0.0), what="step_finished")
        self._done += STEP_WEIGHTS[step]

    async def _publish(self, step: str, fraction: float) -> None:
        if step in self._running:
            self._running[step] = fraction
        overall = min(self._done + sum(STEP_WEIGHTS[s] * f for s, f in self._running.items()), 1.0)
        elapsed = time.monotonic() - self._began
        paced = overall - self._done_before
        eta = round(elapsed * (1 - overall) / paced, 1) if paced > 0.02 else None
        data = ProgressData(step=step, fraction=round(fraction, 3), overall=round(overall, 3), eta_seconds=eta)
        try:
            await self._lifecycle.progressed(self._run.id, overall)
            await self._services.transcripts.emit(self._transcript_id, ProgressEvent(data))
        except UNREACHABLE as exc:  # the next progress says it again: no step waits for a server for this
            if not is_outage(exc):
                raise
            log.warning("run.progress_not_recorded", step=step, error=str(exc) or type(exc).__name__)


@contextlib.asynccontextmanager
async def _heartbeat(lifecycle: RunLifecycle, run_id: str, every_s: float) -> AsyncIterator[None]:
    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await lifecycle.heartbeat(run_id)
            except Exception as exc:  # PostgreSQL restarting: beat again next time, the step goes on
                log.warning("run.heartbeat_failed", run_id=run_id, error=str(exc))

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_speech(ctx: dict[str, Any], run_id: str) -> str:
    return await _run(ctx["services"], run_id, SPEECH_STEPS)


async def run_multitrack(ctx: dict[str, Any], run_id: str) -> str:
    """The speech steps of a per-participant recording (multitrack_runs.py): its tracks, not an upload."""
    return await _run(ctx["services"], run_id, SPEECH_STEPS)


async def run_analysis(ctx: dict[str, Any], run_id: str) -> str:
    return await _run(ctx["services"], run_id, ANALYSIS_STEPS)


# Each job and its policy. A recording longer than the service's LONG_RECORDING_S is transcribed on a
# queue of its own, so short work never waits behind it.
SPEECH = JobPolicy(run_speech, queue="speech", timeout_s=2 * 3600)
SPEECH_LONG = JobPolicy(run_speech, queue="speech-long", timeout_s=12 * 3600)
ANALYSIS = JobPolicy(run_analysis, queue="llm", timeout_s=2 * 3600)
# A room's recording: one track per participant, transcribed one after the other.
MULTITRACK = JobPolicy(run_multitrack, queue="speech", timeout_s=4 * 3600)
# What a worker can serve: it runs each of these on its queue, and the queue sends each to its own.
JOBS = (SPEECH, SPEECH_LONG, MULTITRACK, ANALYSIS)


async def _run(services: JobServices, run_id: str, steps: Sequence[str]) -> str:
    lifecycle = services.runs.lifecycle
    run = await through_outage(lambda: lifecycle.claim(run_id, str(services.holder)), what="claim")
    if run is None:
        log.info("run.skipped", run_id=run_id, reason="finished or held by a live worker")
        return "skipped"
    transcript_id = run.transcript_id
    transcripts = services.transcripts
    structlog.contextvars.bind_contextvars(transcript_id=transcript_id, run_id=run_id)
    try:
        transcript = await transcripts.get(transcript_id)
        options = msgspec.convert(run.options, PipelineOptions)
        participants = await transcripts.participants(transcript_id)
        names = {p.speaker: p.name for p in participants if p.speaker is not None}
        # Participants added before processing (no speaker yet) are people whose names may be heard.
        known = tuple(dict.fromkeys([*options.participants, *(p.name for p in participants if p.name)]))
        options = msgspec.structs.replace(options, participants=known)
        with scratch_dir(services.holder.pid) as tmp:
            checkpoints = StorageCheckpoints(services.storage, transcript_id)
            observer = RunObserver(services, run, transcript_id, transcript.user_id)
            pipeline = MeetingPipeline(
                services.models, options, checkpoints, observer, services.gate, names, playback_dir=Path(tmp)
            )
            async with _heartbeat(lifecycle, run_id, services.heartbeat_s):
                if steps == SPEECH_STEPS and run.kind == multitrack_runs.KIND:
                    bucket, recording = services.recordings or services.storage, multitrack_runs.source_of(run)
                    await multitrack_runs.drop_video(bucket, recording)
                    tracks = await multitrack_runs.fetch_tracks(bucket, recording, Path(tmp))
                    pipeline = MultitrackPipeline(
                        tracks, services.models, options, checkpoints, observer, services.gate, Path(tmp)
                    )
                    await pipeline.run(None, steps)
                elif steps == SPEECH_STEPS:
                    key = await _upload_in_reach(transcripts, transcript_id)
                    source = Path(tmp) / Path(key).name
                    await services.storage.download(key, source)
                    await pipeline.run(source, steps)
                else:
                    await pipeline.run(None, steps)
    except asyncio.CancelledError:
        if services.stopping.is_set():
            # SIGTERM, a deploy: the next worker resumes the run now, not once the heartbeat is stale.
            await asyncio.shield(services.runs.hand_back(run_id, services.holder))
        raise
    # NoUpload: the recording was deleted after this run was queued, or this worker's storage lacks it; its
    # message says which.
    except (AudioError, ModelUnavailable, StorageFull, NoUpload) as exc:
        return await _fail(lifecycle, run, str(exc))
    except Exception as exc:
        if is_outage(exc):
            return await _hand_back_after_outage(services, run_id, exc)
        log.exception("run.crashed")
        message = f"Processing failed unexpectedly ({type(exc).__name__}: {exc}). Retry, or report it."
        return await _fail(lifecycle, run, message)
    finally:
        structlog.contextvars.unbind_contextvars("transcript_id", "run_id")

    if steps == SPEECH_STEPS:
        # The next job is queued even if Redis restarts now; if it stays away, the reaper queues it later.
        await through_outage(lambda: services.runs.speech_done(run_id), what="analysis job")
        return "speech done"
    await through_outage(lambda: lifecycle.succeeded(run), what="run succeeded")
    log.info("run.succeeded", run_id=run_id, transcript_id=transcript_id)
    return "ended"


async def _upload_in_reach(transcripts: TranscriptService, transcript_id: str) -> str:
    """The key of the transcript's recording in this worker's storage. The run was queued because the
    storage of the process that queued it holds the recording: unless it was deleted since, this worker reads
    another storage (local storage on another machine), and the sentence says what to change."""
    try:
        return await transcripts.upload_of(transcript_id)
    except AudioDeleted:
        raise
    except NoUpload as exc:
        raise NoUpload(NOT_IN_THIS_STORAGE) from exc


async def _hand_back_after_outage(services: JobServices, run_id: str, exc: Exception) -> str:
    """PostgreSQL or Redis went away where the run could not wait for it: not the run's fault, so no
    crash is counted and no error shown. Once the server is back the run goes to the next worker, which
    resumes it after its last finished step."""
    log.warning("run.interrupted_by_outage", run_id=run_id, error=str(exc) or type(exc).__name__)
    await through_outage(lambda: services.runs.hand_back(run_id, services.holder), what="hand back")
    return "handed back"


async def _fail(lifecycle: RunLifecycle, run: RunView, message: str) -> str:
    await lifecycle.failed(run, message)
    log.warning("run.failed", run_id=run.id, error=message)
    return "error"


__all__ = [
    "ANALYSIS",
    "JOBS",
    "MULTITRACK",
    "SPEECH",
    "SPEECH_LONG",
    "JobServices",
    "run_analysis",
    "run_multitrack",
    "run_speech",
]
