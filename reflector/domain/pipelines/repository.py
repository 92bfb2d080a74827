"""SQL for processing runs."""

from typing import Any

import msgspec

from reflector.domain.pipelines.models import RunView
from reflector.domain.pipelines.tables import PipelineRun

_COLUMNS = [getattr(PipelineRun, name) for name in RunView.__struct_fields__]


def _view(row: dict[str, Any]) -> RunView:
    return msgspec.convert(row, RunView)


async def insert(transcript_id: str, options: dict[str, Any]) -> RunView:
    row = PipelineRun(transcript_id=transcript_id, options=options)
    await row.save()
    run = await get(row.id)
    assert run is not None
    return run


async def get(run_id: str) -> RunView | None:
    row = await PipelineRun.select(*_COLUMNS).where(PipelineRun.id == run_id).output(load_json=True).first()
    return _view(row) if row else None


async def latest_for(transcript_id: str) -> RunView | None:
    row = (
        await PipelineRun.select(*_COLUMNS)
        .where(PipelineRun.transcript_id == transcript_id)
        .order_by(PipelineRun.created_at, ascending=False)
        .output(load_json=True)
        .first()
    )
    return _view(row) if row else None


async def claim(run_id: str, stale_after_s: float) -> RunView | None:
    """Mark a run as running by this worker, unless another live worker holds it or it is over.

    Atomic, so a job delivered twice (a redelivery after a crash) runs once.
    """
    rows = await PipelineRun.raw(
        """
        UPDATE pipeline_run
           SET status = 'running', attempts = attempts + 1, heartbeat_at = now(), updated_at = now()
         WHERE id = {}
           AND (status = 'queued'
                OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => {})))
        RETURNING id
        """,
        run_id,
        stale_after_s,
    )
    return await get(run_id) if rows else None


async def stale_runs(stale_after_s: float) -> list[RunView]:
    rows = await PipelineRun.raw(
        """
        SELECT id FROM pipeline_run
         WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => {})
        """,
        stale_after_s,
    )
    runs = [await get(row["id"]) for row in rows]
    return [run for run in runs if run is not None]


async def update(run_id: str, values: dict[str, Any]) -> None:
    await PipelineRun.update({getattr(PipelineRun, k): v for k, v in values.items()}).where(PipelineRun.id == run_id)


async def heartbeat(run_id: str) -> None:
    await PipelineRun.raw("UPDATE pipeline_run SET heartbeat_at = now() WHERE id = {}", run_id)


async def record_step(run_id: str, step: str, seconds: float) -> None:
    await PipelineRun.raw(
        "UPDATE pipeline_run SET timings = timings || jsonb_build_object({}::text, {}::float) WHERE id = {}",
        step,
        seconds,
        run_id,
    )
