"""Processing runs: ask for one, find the active one, re-queue the ones whose worker died."""

from typing import Any, Protocol

import msgspec
import structlog

from reflector.domain.pipelines import repository
from reflector.domain.pipelines.models import JobPolicy, RunView
from reflector.domain.transcripts.service import TranscriptService
from reflector.pipelines.meeting import SPEECH_STEPS, PipelineOptions

log = structlog.get_logger(__name__)

# Recordings longer than this go to their own queue, so short work never waits behind them.
LONG_RECORDING_S = 20 * 60

SPEECH = JobPolicy(name="run_speech", queue="reflector:speech", timeout_s=2 * 3600)
SPEECH_LONG = JobPolicy(name="run_speech", queue="reflector:speech-long", timeout_s=12 * 3600)
ANALYSIS = JobPolicy(name="run_analysis", queue="reflector:llm", timeout_s=2 * 3600)
QUEUES = {
    "speech": [SPEECH],
    "speech-long": [SPEECH_LONG],
    "llm": [ANALYSIS],
}


class JobQueue(Protocol):
    async def enqueue(self, policy: JobPolicy, *args: Any, job_id: str) -> None: ...


class PipelineService:
    def __init__(self, transcripts: TranscriptService, queue: JobQueue, stale_after_s: float) -> None:
        self._transcripts = transcripts
        self._queue = queue
        # A running run whose worker wrote no heartbeat for this long is taken as dead.
        self.stale_after_s = stale_after_s

    async def request(self, transcript_id: str, options: PipelineOptions) -> tuple[RunView, bool]:
        """Queue a run of the file pipeline; (run, False) when one is already under way."""
        transcript = await self._transcripts.get(transcript_id)
        await self._transcripts.upload_of(transcript_id)
        active = await self.active_run(transcript_id)
        if active is not None:
            return active, False
        await self._transcripts.reset_results(transcript_id)
        run = await repository.insert(transcript_id, msgspec.to_builtins(options))
        policy = SPEECH_LONG if transcript.duration / 1000 > LONG_RECORDING_S else SPEECH
        await self._queue.enqueue(policy, run.id, job_id=f"{run.id}:speech:0")
        log.info("run.queued", transcript_id=transcript_id, run_id=run.id, queue=policy.queue)
        return run, True

    async def active_run(self, transcript_id: str) -> RunView | None:
        run = await repository.latest_for(transcript_id)
        if run is None or run.status in ("succeeded", "failed"):
            return None
        return run

    async def latest(self, transcript_id: str) -> RunView | None:
        return await repository.latest_for(transcript_id)

    async def get(self, run_id: str) -> RunView | None:
        return await repository.get(run_id)

    async def requeue_stale(self) -> list[str]:
        """Runs left by a dead worker go back on their queue; they resume after the last checkpoint."""
        requeued = []
        for run in await repository.stale_runs(self.stale_after_s):
            await self.continue_run(run, f"{run.id}:resume:{run.attempts}")
            requeued.append(run.id)
            log.warning("run.requeued", run_id=run.id, step=run.step, attempts=run.attempts)
        return requeued

    async def continue_run(self, run: RunView, job_id: str) -> None:
        speech_done = all(step in run.timings for step in SPEECH_STEPS)
        policy = ANALYSIS if speech_done else SPEECH
        await repository.update(run.id, {"status": "queued"})
        await self._queue.enqueue(policy, run.id, job_id=job_id)
