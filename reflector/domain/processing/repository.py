"""SQL for processing runs."""

from typing import Any

import msgspec

from reflector.domain.ids import now
from reflector.domain.processing.models import RunView
from reflector.domain.processing.tables import PipelineRun

_COLUMNS = [getattr(PipelineRun, name) for name in RunView.__struct_fields__]


def _view(row: dict[str, Any]) -> RunView:
    return msgspec.convert(row, RunView)


async def insert(transcript_id: str, options: dict[str, Any], kind: str = "file") -> RunView:
    row = PipelineRun(transcript_id=transcript_id, options=options, kind=kind)
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


async def claim(run_id: str, stale_after_s: float, holder: str) -> RunView | None:
    """Mark a run as running by this worker, unless another live worker holds it or it is over.

    Atomic, so a job delivered twice (a redelivery after a crash) runs once. Taking over a run whose
    worker went silent counts as one crash of it.
    """
    rows = await PipelineRun.raw(
        """
        UPDATE pipeline_run
           SET crashes = crashes + (status = 'running')::int,
               status = 'running', attempts = attempts + 1, holder = {},
               heartbeat_at = now(), updated_at = now()
         WHERE id = {}
           AND (status = 'queued'
                OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => {})))
        RETURNING id
        """,
        holder,
        run_id,
        stale_after_s,
    )
    return await get(run_id) if rows else None


async def take_back_stale(stale_after_s: float, spare: str = "") -> list[RunView]:
    """Running runs whose worker went silent, put back to `queued` with one more crash counted; a run held
    by `spare` (the asking worker, alive: its heartbeat only missed a database restart) is left alone.

    Atomic, so when several workers' reapers find the same run, one of them takes it back.
    """
    rows = await PipelineRun.raw(
        """
        UPDATE pipeline_run SET status = 'queued', crashes = crashes + 1, holder = '', updated_at = now()
         WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => {}) AND holder <> {}
        RETURNING id
        """,
        stale_after_s,
        spare,
    )
    return [run for row in rows if (run := await get(row["id"])) is not None]


async def queued_since(seconds: float) -> list[RunView]:
    """Queued runs that have not changed for `seconds`: each should have a job waiting on a queue."""
    rows = await PipelineRun.raw(
        "SELECT id FROM pipeline_run WHERE status = 'queued' AND updated_at < now() - make_interval(secs => {})",
        seconds,
    )
    return [run for row in rows if (run := await get(row["id"])) is not None]


async def take_lost(run_id: str, seconds: float) -> bool:
    """Mark a queued run found without a job as being queued again; False when it changed meanwhile or
    another worker's reaper took it first (atomic, so one job is queued)."""
    rows = await PipelineRun.raw(
        """
        UPDATE pipeline_run SET updated_at = now()
         WHERE id = {} AND status = 'queued' AND updated_at < now() - make_interval(secs => {})
        RETURNING id
        """,
        run_id,
        seconds,
    )
    return bool(rows)


async def held_on(host_prefix: str) -> list[RunView]:
    """Running runs held by worker processes of one host (`holder` starts with `host:`)."""
    rows = await PipelineRun.raw(
        "SELECT id FROM pipeline_run WHERE status = 'running' AND starts_with(holder, {})", host_prefix
    )
    return [run for row in rows if (run := await get(row["id"])) is not None]


async def take_back(run_id: str, holder: str, *, crashed: bool) -> RunView | None:
    """Put a run that `holder` runs back to `queued` (a crash of it counted when `crashed`)."""
    rows = await PipelineRun.raw(
        """
        UPDATE pipeline_run SET status = 'queued', crashes = crashes + {}, holder = '', updated_at = now()
         WHERE id = {} AND status = 'running' AND holder = {}
        RETURNING id
        """,
        int(crashed),
        run_id,
        holder,
    )
    return await get(run_id) if rows else None


async def update(run_id: str, values: dict[str, Any]) -> None:
    changes = {getattr(PipelineRun, k): v for k, v in values.items()}
    await PipelineRun.update({**changes, PipelineRun.updated_at: now()}).where(PipelineRun.id == run_id)


async def heartbeat(run_id: str) -> None:
    await PipelineRun.raw("UPDATE pipeline_run SET heartbeat_at = now() WHERE id = {}", run_id)


async def record_step(run_id: str, step: str, seconds: float) -> None:
    await PipelineRun.raw(
        "UPDATE pipeline_run SET timings = timings || jsonb_build_object({}::text, {}::float) WHERE id = {}",
        step,
        seconds,
        run_id,
    )
