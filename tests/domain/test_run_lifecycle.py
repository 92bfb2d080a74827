"""A processing run's life through the processing service, against the real PostgreSQL and Redis:
requested, claimed by one worker, step by step, then succeeded, failed, or handed back to the next."""

import asyncio
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from reflector.adapters.queue import ArqJobQueue
from reflector.bootstrap import Services
from reflector.domain.processing import repository
from reflector.domain.processing.holders import Holder
from reflector.domain.processing.models import RunView
from reflector.domain.processing.service import ProcessingService
from reflector.domain.transcripts.models import NewTranscript
from reflector.entrypoints.embedded import EmbeddedRedis
from reflector.pipelines.meeting import SPEECH_STEPS, PipelineOptions
from tests.paths import REAL


async def _requested(services: Services) -> RunView:
    transcript = await services.transcripts.create(NewTranscript(name="Stand-up", user_id="local"))
    await services.transcripts.store_upload(transcript.id, REAL / "jfk.flac")
    run, queued = await services.runs.request(transcript.id, PipelineOptions())
    assert queued
    return run


async def _run(services: Services, run_id: str) -> RunView:
    run = await services.runs.get(run_id)
    assert run is not None
    return run


async def _queued_jobs(services: Services, queue: str) -> list[str]:
    return [job.decode() for job in await services.redis.zrange(f"reflector:{queue}", 0, -1)]


async def test_a_requested_run_is_claimed_once_and_succeeds_step_by_step(clean: Services) -> None:
    run = await _requested(clean)
    assert (run.status, run.attempts) == ("queued", 0)
    assert await _queued_jobs(clean, "speech") == [f"{run.id}:speech:0"]
    lifecycle = clean.runs.lifecycle

    claimed = await lifecycle.claim(run.id, "host/1:10:aaaa")
    assert claimed is not None
    assert (claimed.status, claimed.attempts, claimed.holder) == ("running", 1, "host/1:10:aaaa")
    assert (await clean.transcripts.get(run.transcript_id)).status == "processing"
    # A job delivered twice runs once: a live worker holds the run.
    assert await lifecycle.claim(run.id, "host/1:11:bbbb") is None

    await lifecycle.step_started(run.id, "decode")
    await lifecycle.progressed(run.id, 0.02)
    running = await _run(clean, run.id)
    assert (running.step, running.progress) == ("decode", 0.02)
    await lifecycle.step_finished(run.id, "decode", 1.5)
    assert (await _run(clean, run.id)).timings == {"decode": 1.5}

    await lifecycle.succeeded(claimed)
    done = await _run(clean, run.id)
    assert (done.status, done.progress, done.step) == ("succeeded", 1.0, "")
    assert (await clean.transcripts.get(run.transcript_id)).status == "ended"
    assert await clean.runs.active_run(run.transcript_id) is None
    assert await lifecycle.claim(run.id, "host/1:11:bbbb") is None  # over: nothing to run again


async def test_a_failed_run_tells_its_transcript_why(clean: Services) -> None:
    run = await _requested(clean)
    claimed = await clean.runs.lifecycle.claim(run.id, "host/1:10:aaaa")
    assert claimed is not None

    await clean.runs.lifecycle.failed(claimed, "This file has no audio track, so there is nothing to transcribe.")
    failed = await _run(clean, run.id)
    transcript = await clean.transcripts.get(run.transcript_id)
    assert (failed.status, transcript.status) == ("failed", "error")
    assert failed.error == transcript.error == "This file has no audio track, so there is nothing to transcribe."
    assert await clean.runs.active_run(run.transcript_id) is None


async def test_a_stopping_worker_hands_its_run_to_the_next_without_a_crash(clean: Services) -> None:
    run = await _requested(clean)
    me = Holder()
    assert await clean.runs.lifecycle.claim(run.id, str(me)) is not None
    await clean.runs.lifecycle.step_started(run.id, "transcribe")

    assert not await clean.runs.hand_back(run.id, Holder())  # another worker does not hold it
    assert await clean.runs.hand_back(run.id, me)
    back = await _run(clean, run.id)
    assert (back.status, back.crashes, back.holder, back.step) == ("queued", 0, "", "transcribe")
    assert f"{run.id}:handback:1" in await _queued_jobs(clean, "speech")
    # The next worker takes it up where it was.
    again = await clean.runs.lifecycle.claim(run.id, "host/1:12:cccc")
    assert again is not None and (again.attempts, again.crashes) == (2, 0)


async def test_a_run_whose_worker_went_silent_is_taken_over_as_one_crash(clean: Services) -> None:
    run = await _requested(clean)
    lifecycle = clean.runs.lifecycle
    assert await lifecycle.claim(run.id, "another-host/1:1:abcd") is not None
    await lifecycle.heartbeat(run.id)
    assert await lifecycle.claim(run.id, "host/1:12:cccc") is None  # its worker is alive

    await repository.PipelineRun.raw(
        "UPDATE pipeline_run SET heartbeat_at = now() - interval '1 hour' WHERE id = {}", run.id
    )
    taken = await lifecycle.claim(run.id, "host/1:12:cccc")
    assert taken is not None and (taken.status, taken.attempts, taken.crashes) == ("running", 2, 1)


async def test_a_finished_speech_job_queues_the_analysis_job(clean: Services) -> None:
    run = await _requested(clean)
    assert await clean.runs.lifecycle.claim(run.id, "host/1:10:aaaa") is not None
    for step in SPEECH_STEPS:
        await clean.runs.lifecycle.step_started(run.id, step)
        await clean.runs.lifecycle.step_finished(run.id, step, 1.0)

    await clean.runs.speech_done(run.id)
    assert (await _run(clean, run.id)).status == "queued"
    assert await _queued_jobs(clean, "llm") == [f"{run.id}:analysis:0"]


async def test_a_run_whose_job_cannot_be_queued_fails_with_a_sentence_not_left_queued(
    clean: Services, tmp_path: Path
) -> None:
    """Redis away when the job is queued: the request fails (the web answers 503) and the run says why,
    instead of staying `queued` with no job behind it, which would answer every later request 'already
    running'. A real queue on a private Redis that is then stopped."""
    redis = EmbeddedRedis(tmp_path / "redis")
    queue = await ArqJobQueue.connect(await asyncio.to_thread(redis.start))
    try:
        await asyncio.to_thread(redis.stop)
        runs = ProcessingService(clean.transcripts, queue, clean.settings.worker.stale_after_s)
        transcript = await clean.transcripts.create(NewTranscript(name="Stand-up", user_id="local"))
        await clean.transcripts.store_upload(transcript.id, REAL / "jfk.flac")
        with pytest.raises(RedisConnectionError):
            await runs.request(transcript.id, PipelineOptions())
    finally:
        await queue.close()
    failed = await clean.runs.latest(transcript.id)
    assert failed is not None and failed.status == "failed"
    assert failed.error.startswith("The queue and event server (Redis) is not answering right now")
    assert await clean.runs.active_run(transcript.id) is None
    # Once Redis is back, asking again queues a new run.
    run, queued = await clean.runs.request(transcript.id, PipelineOptions())
    assert queued and run.id != failed.id
