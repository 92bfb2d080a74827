"""Figures about processing for monitoring: runs by status, step times, audio done.

Read at scrape time from what the workers already store (`pipeline_run` rows), because workers are
separate processes whose in-memory counters a web process cannot see. The queues' figures are the queue
adapter's (`ArqJobQueue.figures`).
"""

import msgspec

from reflector.domain.processing.tables import PipelineRun

# Upper bounds (seconds) of the step-duration histogram: sub-second steps up to hour-long transcriptions.
STEP_BUCKETS_S = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class StepFigures(msgspec.Struct, frozen=True):
    step: str
    count: int
    seconds: float
    # Cumulative counts per STEP_BUCKETS_S bound (Prometheus `le` semantics).
    buckets: list[int]
    # Step seconds and audio seconds over the runs whose transcript has a known duration.
    timed_seconds: float
    audio_seconds: float

    @property
    def real_time_factor(self) -> float | None:
        return self.timed_seconds / self.audio_seconds if self.audio_seconds > 0 else None


class ProcessingFigures(msgspec.Struct, frozen=True):
    runs: dict[str, int]  # by status
    steps: list[StepFigures]
    audio_seconds_processed: float  # audio of succeeded runs


_BUCKET_COLUMNS = ", ".join(f"count(*) FILTER (WHERE t.value::float <= {bound})" for bound in STEP_BUCKETS_S)


async def processing_figures() -> ProcessingFigures:
    # Two aggregate scans over the run rows (one per run, a handful of steps each): cheap at
    # scrape intervals for the hundreds of thousands of runs a deployment accumulates.
    by_status = await PipelineRun.raw(
        """
        SELECT r.status, count(*) AS runs, coalesce(sum(tr.duration), 0) / 1000.0 AS audio_seconds
          FROM pipeline_run r JOIN transcript tr ON tr.id = r.transcript_id
         GROUP BY r.status
        """
    )
    by_step = await PipelineRun.raw(
        f"""
        SELECT t.key AS step, count(*) AS count, sum(t.value::float) AS seconds,
               ARRAY[{_BUCKET_COLUMNS}] AS buckets,
               coalesce(sum(t.value::float) FILTER (WHERE tr.duration > 0), 0) AS timed_seconds,
               coalesce(sum(tr.duration) FILTER (WHERE tr.duration > 0), 0) / 1000.0 AS audio_seconds
          FROM pipeline_run r
          JOIN transcript tr ON tr.id = r.transcript_id
          CROSS JOIN LATERAL jsonb_each_text(r.timings) AS t
         GROUP BY t.key
         ORDER BY t.key
        """
    )
    runs = {status: 0 for status in ("queued", "running", "succeeded", "failed")}
    runs.update({row["status"]: row["runs"] for row in by_status})
    processed = next((float(row["audio_seconds"]) for row in by_status if row["status"] == "succeeded"), 0.0)
    return ProcessingFigures(
        runs=runs,
        steps=[msgspec.convert(dict(row), StepFigures, strict=False) for row in by_step],
        audio_seconds_processed=processed,
    )
