"""Processing runs: ask for one, find the active one, re-queue the ones whose worker died."""

import secrets
from typing import Any, Protocol

import msgspec
import structlog

from reflector.adapters.outages import UNREACHABLE, is_outage, outage_sentence
from reflector.domain.processing import multitrack_runs, repository
from reflector.domain.processing.holders import Holder
from reflector.domain.processing.jobs import ANALYSIS, MULTITRACK, SPEECH, SPEECH_LONG
from reflector.domain.processing.lifecycle import RunLifecycle
from reflector.domain.processing.models import JobPolicy, RunListener, RunView
from reflector.domain.transcripts.models import AudioDeleted, NoUpload, TranscriptLocked, TranscriptView
from reflector.domain.transcripts.service import TranscriptService
from reflector.pipelines.meeting import SPEECH_STEPS, PipelineOptions

log = structlog.get_logger(__name__)

# A run whose worker died this many times under it fails with a sentence instead of killing another.
MAX_CRASHES = 3
# How the crash sentence names a step.
STEP_NOUNS = {
    "decode": "audio decoding",
    "transcribe": "transcription",
    "diarize": "speaker detection",
    "assemble": "speaker attribution",
    "topics": "topic",
    "summarize": "summary",
}

# Recordings longer than this go to their own queue, so short work never waits behind them.
LONG_RECORDING_S = 20 * 60


LOCKED = "This transcript is locked: unlock it before processing it again."
NOTHING_TO_PROCESS = "This transcript has no recording to process yet: upload or record one first."


def options_for(transcript: TranscriptView) -> PipelineOptions:
    """How a transcript's recording is processed: in the language it was said to be in (None: detected)."""
    return PipelineOptions(language=transcript.source_language or None)


class JobQueue(Protocol):
    async def enqueue(self, policy: JobPolicy, *args: Any, job_id: str) -> None: ...

    async def holds(self, job_id_prefix: str) -> bool:
        """Whether a job whose id starts with `job_id_prefix` is waiting or running."""
        ...


class ProcessingService:
    def __init__(
        self,
        transcripts: TranscriptService,
        queue: JobQueue,
        stale_after_s: float,
        listener: RunListener | None = None,
    ) -> None:
        self._transcripts = transcripts
        self._queue = queue
        # Every change of a run's state goes through it: the jobs' as much as this service's.
        self.lifecycle = RunLifecycle(transcripts, stale_after_s, listener)

    @property
    def stale_after_s(self) -> float:
        """A running run whose worker wrote no heartbeat for this long is taken as dead."""
        return self.lifecycle.stale_after_s

    async def reprocess(self, transcript_id: str) -> tuple[RunView, bool]:
        """Process a transcript's recording (again), with the options its languages call for: the one way
        the API, the pages and a finished live recording ask. (run, False) when one is already under way."""
        transcript = await self._transcripts.get(transcript_id)
        if transcript.locked:
            raise TranscriptLocked(LOCKED)
        latest = await repository.latest_for(transcript_id)
        if latest is not None and latest.kind == multitrack_runs.KIND:
            source = multitrack_runs.source_of(latest)
            return await self.request_multitrack(
                transcript_id, source.keys, source.names, source.video_folder, source.starts_ms
            )
        try:
            return await self.request(transcript_id, options_for(transcript))
        except AudioDeleted:
            raise
        except NoUpload:
            raise NoUpload(NOTHING_TO_PROCESS) from None

    async def request(self, transcript_id: str, options: PipelineOptions) -> tuple[RunView, bool]:
        """Queue a run of the file pipeline; (run, False) when one is already under way."""
        transcript = await self._transcripts.get(transcript_id)
        await self._transcripts.upload_of(transcript_id)
        active = await self.active_run(transcript_id)
        if active is not None:
            return active, False
        await self._transcripts.reset_results(transcript_id)
        run = await self.lifecycle.create(transcript_id, options)
        policy = SPEECH_LONG if transcript.duration / 1000 > LONG_RECORDING_S else SPEECH
        await self._enqueue(run, policy)
        log.info("run.queued", transcript_id=transcript_id, run_id=run.id, queue=policy.queue_name)
        return run, True

    async def request_multitrack(
        self,
        transcript_id: str,
        keys: list[str],
        names: dict[str, str],
        video_folder: str | None = None,
        starts_ms: dict[str, int] | None = None,
    ) -> tuple[RunView, bool]:
        """Queue a run of a per-participant recording (its tracks' object keys, the platform's names by
        participant id, the folder whose video tracks it deletes, if any, and for LiveKit when each track
        started); the transcript's participants become the recording's, named. (run, False) when one is
        already under way."""
        transcript = await self._transcripts.get(transcript_id)
        active = await self.active_run(transcript_id)
        if active is not None:
            return active, False
        source = multitrack_runs.MultitrackSource(
            keys=keys, names=names, video_folder=video_folder, starts_ms=starts_ms or {}
        )
        await self._transcripts.reset_results(transcript_id)
        speakers = multitrack_runs.speakers_of(source)
        await self._transcripts.name_speakers(transcript_id, {p.speaker: p.name for p in speakers})
        options = msgspec.structs.replace(options_for(transcript), diarize=False)
        run = await self.lifecycle.create(
            transcript_id, options, multitrack_runs.KIND, multitrack_runs.run_inputs(source)
        )
        await self._enqueue(run, MULTITRACK)
        log.info("run.queued", transcript_id=transcript_id, run_id=run.id, kind=run.kind, speakers=len(speakers))
        return run, True

    async def _enqueue(self, run: RunView, policy: JobPolicy) -> None:
        """A new run's first job queued; the run failed, not left `queued`, when Redis is away (every
        later request would hear one is under way)."""
        try:
            await self._queue.enqueue(policy, run.id, job_id=f"{run.id}:speech:0")
        except UNREACHABLE as exc:
            if is_outage(exc):
                await self.lifecycle.failed(run, f"{outage_sentence(exc)} Retry once it is back.")
            raise

    async def active_run(self, transcript_id: str) -> RunView | None:
        run = await repository.latest_for(transcript_id)
        if run is None or run.status in ("succeeded", "failed"):
            return None
        return run

    async def latest(self, transcript_id: str) -> RunView | None:
        return await repository.latest_for(transcript_id)

    async def get(self, run_id: str) -> RunView | None:
        return await repository.get(run_id)

    async def requeue_stale(self, me: Holder | None = None) -> list[str]:
        """Runs left by a dead worker go back on their queue; they resume after the last checkpoint. The
        asking worker's own runs are not taken back: it is alive, whatever its heartbeats missed."""
        spare = str(me) if me is not None else ""
        return [run.id for run in await self.lifecycle.take_back_stale(spare) if await self._resume(run)]

    async def requeue_lost(self) -> list[str]:
        """Runs queued for a while with no job behind them are queued again: Redis restarted without
        keeping its data (or its data was lost), or it was away when the run's next job was to be queued.
        PostgreSQL says what is left to do; the job only says which worker does it."""
        lost = []
        for run in await repository.queued_since(self.stale_after_s):
            if await self._queue.holds(f"{run.id}:") or not await repository.take_lost(run.id, self.stale_after_s):
                continue
            await self.continue_run(run, f"{run.id}:requeued:{secrets.token_hex(4)}")
            log.warning("run.job_lost", run_id=run.id, step=run.step, done=sorted(run.timings))
            lost.append(run.id)
        return lost

    async def requeue_dead_holders(self, me: Holder) -> list[str]:
        """Runs held by worker processes of this host that are gone (a restarted worker's predecessor):
        taken back at once rather than when their heartbeat goes stale."""
        taken = []
        for run in await repository.held_on(me.host_prefix):
            if not me.is_gone(run.holder):
                continue
            back = await self.lifecycle.take_back(run.id, run.holder, crashed=True)
            if back is not None and await self._resume(back):
                taken.append(back.id)
        return taken

    async def hand_back(self, run_id: str, me: Holder) -> bool:
        """A worker that is stopping gives its run to the next worker now, without counting a crash."""
        run = await self.lifecycle.take_back(run_id, str(me), crashed=False)
        if run is None:
            return False
        await self.continue_run(run, f"{run.id}:handback:{run.attempts}")
        log.info("run.handed_back", run_id=run.id, step=run.step)
        return True

    async def _resume(self, run: RunView) -> bool:
        """Queue a run taken back from a dead worker, or fail it when its step keeps killing workers."""
        if run.crashes >= MAX_CRASHES:
            step = STEP_NOUNS.get(run.step, run.step or "first")
            message = (
                f"The {step} step crashed the worker {run.crashes} times; it was not tried again. "
                "Retry to try once more, or report it with the worker's log."
            )
            await self.lifecycle.failed(run, message)
            log.error("run.crashed_out", run_id=run.id, step=run.step, crashes=run.crashes)
            return False
        await self.continue_run(run, f"{run.id}:resume:{run.attempts}")
        log.warning("run.requeued", run_id=run.id, step=run.step, attempts=run.attempts, crashes=run.crashes)
        return True

    async def speech_done(self, run_id: str) -> None:
        """The run's speech job is over: its analysis job is queued."""
        run = await repository.get(run_id)
        assert run is not None
        await self.continue_run(run, f"{run_id}:analysis:0")

    async def continue_run(self, run: RunView, job_id: str) -> None:
        multitrack = run.kind == multitrack_runs.KIND
        speech = multitrack_runs.SPEECH_STEPS if multitrack else SPEECH_STEPS
        speech_done = all(step in run.timings for step in speech)
        policy = ANALYSIS if speech_done else MULTITRACK if multitrack else SPEECH
        await self.lifecycle.queued(run.id)
        await self._queue.enqueue(policy, run.id, job_id=job_id)
