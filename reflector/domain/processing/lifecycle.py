"""The life of a processing run: every change of its state, in one place.

    queued -> running (a worker claims it) -> its steps, one by one -> succeeded | failed
    running -> queued: its worker stopped (handed back) or died (taken back, one more crash)

A change the transcript shows as well (processing, ended, error) is made with the run's.
"""

from typing import Any

import msgspec
import structlog

from reflector.domain.processing import repository
from reflector.domain.processing.models import RunListener, RunView
from reflector.domain.transcripts.service import TranscriptService
from reflector.pipelines.meeting import PipelineOptions

log = structlog.get_logger(__name__)


class RunLifecycle:
    def __init__(
        self, transcripts: TranscriptService, stale_after_s: float, listener: RunListener | None = None
    ) -> None:
        self._transcripts = transcripts
        # Hears of each run's end (a room's webhook): told after the transcript's status is written.
        self.listener = listener
        # A running run whose worker wrote no heartbeat for this long is taken as dead.
        self.stale_after_s = stale_after_s

    async def create(
        self, transcript_id: str, options: PipelineOptions, kind: str = "file", inputs: dict[str, Any] | None = None
    ) -> RunView:
        """A new run, queued; `inputs` are kept beside its options (a multitrack run's tracks)."""
        return await repository.insert(transcript_id, {**msgspec.to_builtins(options), **(inputs or {})}, kind)

    async def claim(self, run_id: str, holder: str) -> RunView | None:
        """The run, now running in the worker process `holder`, and its transcript processing; None when
        the run is over or a live worker holds it (a job delivered twice runs once)."""
        run = await repository.claim(run_id, self.stale_after_s, holder)
        if run is not None:
            await self._transcripts.set_status(run.transcript_id, "processing")
        return run

    async def heartbeat(self, run_id: str) -> None:
        """Its worker is alive."""
        await repository.heartbeat(run_id)

    async def step_started(self, run_id: str, step: str) -> None:
        await repository.update(run_id, {"step": step})

    async def progressed(self, run_id: str, overall: float) -> None:
        await repository.update(run_id, {"progress": overall})

    async def step_finished(self, run_id: str, step: str, seconds: float) -> None:
        """The step's results are written: a resumed run skips it."""
        await repository.record_step(run_id, step, seconds)

    async def queued(self, run_id: str) -> None:
        """Back on a queue, for its next job or its next worker."""
        await repository.update(run_id, {"status": "queued"})

    async def take_back(self, run_id: str, holder: str, *, crashed: bool) -> RunView | None:
        """The run `holder` runs, queued again (one more crash counted when `crashed`); None when
        `holder` no longer runs it."""
        return await repository.take_back(run_id, holder, crashed=crashed)

    async def take_back_stale(self, spare: str = "") -> list[RunView]:
        """The running runs whose worker went silent, queued again with one more crash counted; those the
        worker `spare` holds (the one asking) are not."""
        return await repository.take_back_stale(self.stale_after_s, spare)

    async def succeeded(self, run: RunView) -> None:
        await repository.update(run.id, {"status": "succeeded", "progress": 1.0, "step": ""})
        await self._transcripts.set_status(run.transcript_id, "ended")
        await self._tell(run, succeeded=True, error="")

    async def failed(self, run: RunView, message: str) -> None:
        """Over, with `message` for the person who asked (the transcript's error)."""
        await repository.update(run.id, {"status": "failed", "error": message})
        await self._transcripts.set_status(run.transcript_id, "error", error=message)
        await self._tell(run, succeeded=False, error=message)

    async def _tell(self, run: RunView, *, succeeded: bool, error: str) -> None:
        # The run's end is written whatever the listener does: its failure is logged, never the run's.
        if self.listener is None:
            return
        try:
            await self.listener.run_finished(run.transcript_id, succeeded=succeeded, error=error)
        except Exception as exc:
            log.warning("run.listener_failed", run_id=run.id, transcript_id=run.transcript_id, error=str(exc))


class RunListeners:
    """Several listeners (a room's webhook, its Zulip stream, …) told of a run's end in turn, each failure
    logged on its own, so one listener's outage costs no other its news."""

    def __init__(self, *listeners: RunListener) -> None:
        self.listeners = listeners

    async def run_finished(self, transcript_id: str, *, succeeded: bool, error: str) -> None:
        for listener in self.listeners:
            try:
                await listener.run_finished(transcript_id, succeeded=succeeded, error=error)
            except Exception as exc:
                log.warning(
                    "run.listener_failed", transcript_id=transcript_id, listener=type(listener).__name__, error=str(exc)
                )
