"""What PostgreSQL says is left to do wins over what Redis lost (issue 13, R3): a queued run whose job is
gone (Redis restarted without its data, or away when the job was to be queued) is queued again, once; and
a worker's reaper never takes its own run for a dead worker's after a database restart."""

from reflector.bootstrap import Services
from reflector.domain.processing import repository as runs_table
from reflector.domain.processing.holders import Holder
from reflector.domain.processing.service import options_for
from reflector.domain.transcripts.models import NewTranscript
from tests.paths import REAL


async def _queued(services: Services, minutes_ago: int) -> str:
    created = await services.transcripts.create(NewTranscript(name="Lost", user_id="local"))
    await services.transcripts.store_upload(created.id, REAL / "jfk.flac")
    run, _ = await services.runs.request(created.id, options_for(created))
    await runs_table.PipelineRun.raw(
        "UPDATE pipeline_run SET updated_at = now() - make_interval(mins => {}) WHERE id = {}", minutes_ago, run.id
    )
    return run.id


async def _jobs(services: Services, run_id: str) -> list[bytes]:
    return [key async for key in services.redis.scan_iter(match=f"arq:job:{run_id}:*")]


async def test_a_queued_run_whose_job_redis_lost_is_queued_again_once(clean: Services) -> None:
    lost = await _queued(clean, minutes_ago=10)
    waiting = await _queued(clean, minutes_ago=10)  # its job still waits on the queue
    recent = await _queued(clean, minutes_ago=0)  # being queued right now: its job may be on its way
    for run_id in (lost, recent):
        for key in await _jobs(clean, run_id):
            await clean.redis.delete(key)

    assert await clean.runs.requeue_lost() == [lost]
    assert len(await _jobs(clean, lost)) == 1
    assert await clean.runs.requeue_lost() == []  # its new job is there, and it was touched
    run = await runs_table.get(lost)
    assert run is not None and (run.status, run.crashes) == ("queued", 0)
    assert await _jobs(clean, recent) == []
    assert len(await _jobs(clean, waiting)) == 1


async def test_a_reaper_spares_its_own_run_whose_heartbeat_a_database_restart_made_stale(clean: Services) -> None:
    me, other = Holder(), "another-host/1:1:abcd"
    mine, theirs = await _queued(clean, 0), await _queued(clean, 0)
    for run_id, holder in ((mine, str(me)), (theirs, other)):
        assert await runs_table.claim(run_id, clean.runs.stale_after_s, holder) is not None
        await runs_table.PipelineRun.raw(
            "UPDATE pipeline_run SET heartbeat_at = now() - interval '1 hour' WHERE id = {}", run_id
        )

    assert await clean.runs.requeue_stale(me) == [theirs]
    run = await runs_table.get(mine)
    assert run is not None and (run.status, run.holder) == ("running", str(me))
