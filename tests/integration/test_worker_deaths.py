"""Workers that die or stop: a run is taken back at once from a dead worker of this host, handed back at
once by a worker told to stop, and failed with a sentence naming the step once it has killed 3 workers."""

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest

from reflector.adapters.gate import MachineGate
from reflector.bootstrap import Services
from reflector.domain.events import parse
from reflector.domain.processing import repository as runs_table
from reflector.domain.processing.holders import Holder
from reflector.domain.processing.jobs import JobServices, run_analysis
from reflector.domain.processing.models import RunView
from reflector.domain.processing.service import options_for
from reflector.domain.transcripts.models import NewTranscript
from reflector.domain.transcripts.service import steps_prefix
from reflector.encoding import encode
from reflector.pipelines.meeting import PipelineOptions
from reflector.pipelines.types import ActionItem, Summary, Topic, Transcription, Word
from reflector.settings import Settings
from tests.integration.workers import WorkerProcess, submit, wait_for_status
from tests.paths import REAL


def _dead_holder(me: Holder) -> str:
    """The holder string of a worker process of this host that has exited."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    return f"{me.host}:{gone.pid}:0000"


async def _running(services: Services, holder: str, step: str, crashes: int = 0) -> tuple[str, str]:
    created = await services.transcripts.create(NewTranscript(name="Crashes", user_id="local"))
    await services.transcripts.store_upload(created.id, REAL / "jfk.flac")
    run, _ = await services.runs.request(created.id, options_for(created))
    assert await runs_table.claim(run.id, services.runs.stale_after_s, holder) is not None
    await runs_table.update(run.id, {"step": step, "crashes": crashes})
    await services.transcripts.set_status(created.id, "processing")
    return created.id, run.id


async def _run(run_id: str) -> RunView:
    run = await runs_table.get(run_id)
    assert run is not None
    return run


async def test_a_dead_workers_run_is_taken_back_at_once_and_a_live_ones_is_not(clean: Services) -> None:
    me = Holder()
    _, dead_run = await _running(clean, _dead_holder(me), "transcribe")
    _, live_run = await _running(clean, f"{me.host}:{os.getpid()}:{me.token}", "diarize")  # this very process
    _, elsewhere = await _running(clean, "another-host/1:1:abcd", "diarize")

    assert await clean.runs.requeue_dead_holders(me) == [dead_run]
    taken = await _run(dead_run)
    assert (taken.status, taken.crashes, taken.holder) == ("queued", 1, "")
    assert (await _run(live_run)).status == "running"
    assert (await _run(elsewhere)).status == "running"


async def test_the_third_crash_fails_the_run_with_a_sentence_naming_the_step(clean: Services) -> None:
    me = Holder()
    transcript_id, run_id = await _running(clean, _dead_holder(me), "summarize", crashes=2)

    assert await clean.runs.requeue_dead_holders(me) == []
    run = await _run(run_id)
    transcript = await clean.transcripts.get(transcript_id)
    assert run.status == "failed" and transcript.status == "error"
    assert transcript.error.startswith("The summary step crashed the worker 3 times;"), transcript.error
    assert run.error == transcript.error

    # A silent worker elsewhere counts the same way, once its heartbeat is stale.
    transcript_id, run_id = await _running(clean, "another-host/1:1:abcd", "diarize", crashes=2)
    await runs_table.PipelineRun.raw(
        "UPDATE pipeline_run SET heartbeat_at = now() - interval '1 hour' WHERE id = {}", run_id
    )
    assert await clean.runs.requeue_stale() == []
    assert (await clean.transcripts.get(transcript_id)).error.startswith("The speaker detection step crashed")


async def test_a_step_saved_but_not_written_when_its_worker_died_is_written_once_on_resume(
    clean: Services, settings: Settings
) -> None:
    """Killed after a step's checkpoint was saved and while its results were being written: the resumed
    run writes them from the checkpoint, and the log holds each of the step's events once."""
    me = Holder()
    transcript_id, run_id = await _running(clean, _dead_holder(me), "summarize")
    words = [Word("Ship", 0.5, 0.9, 0), Word("it", 0.9, 1.2, 0), Word("Thursday.", 1.2, 1.9, 1)]
    checkpoints = {
        "decode": 2.0,
        "transcribe": Transcription(language="en", words=words),
        "assemble": words,
        "topics": [Topic("Release", "We ship on Thursday.", 0.5, 1.9, words)],
        "summarize": Summary("Release day", "Ship Thursday.", "We ship on Thursday.", ["Ship Thursday."],
                             [ActionItem("Ship it", "Bob", "Thursday")]),
    }  # fmt: skip
    for step, output in checkpoints.items():
        await clean.storage.put_bytes(f"{steps_prefix(transcript_id)}{step}.json", encode(output))
    for step in ("decode", "transcribe", "diarize", "assemble"):
        await runs_table.record_step(run_id, step, 1.0)
    # The dead worker had written part of the summary step: one of its events.
    await clean.transcripts.emit(transcript_id, parse("FINAL_TITLE", {"title": "Release day"}))
    await runs_table.take_back(run_id, (await _run(run_id)).holder, crashed=True)

    job = JobServices(transcripts=clean.transcripts, runs=clean.runs, storage=clean.storage, models=None,  # type: ignore[arg-type]
                      gate=MachineGate(settings.data_dir / "locks" / "cpu.lock"), holder=me)  # fmt: skip
    assert await run_analysis({"services": job}, run_id) == "ended"

    transcript = await clean.transcripts.get(transcript_id)
    assert transcript.status == "ended" and transcript.title == "Release day"
    assert [t.title for t in await clean.transcripts.topics(transcript_id)] == ["Release"]
    kinds = [event for event, _ in await clean.transcripts.events(transcript_id)]
    for kind in ("TOPIC", "FINAL_TITLE", "FINAL_SHORT_SUMMARY", "FINAL_LONG_SUMMARY", "ACTION_ITEMS"):
        assert kinds.count(kind) == 1, kinds
    assert set((await _run(run_id)).timings) == {"decode", "transcribe", "diarize", "assemble", "topics", "summarize"}


@pytest.mark.slow
async def test_sigterm_hands_the_run_back_at_once_and_the_next_worker_finishes_it(
    clean: Services, settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    worker = WorkerProcess(settings, log).start()
    try:
        transcript_id = await submit(clean, REAL / "physicsworks.wav", PipelineOptions(summarize=False))
        deadline = time.monotonic() + 120
        # Transcription and diarization run together once decoding is done.
        while (run := await clean.runs.latest(transcript_id)) is None or "decode" not in run.timings:
            assert time.monotonic() < deadline, worker.log()[-3000:]
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        assert worker.process is not None
        worker.process.terminate()
        stopped_at = time.monotonic()
        while (run := await clean.runs.latest(transcript_id)) is not None and run.status == "running":
            assert time.monotonic() - stopped_at < 5, "the run was not handed back"
            await asyncio.sleep(0.05)
        handed_back_s = time.monotonic() - stopped_at
        assert run is not None and run.status == "queued" and run.crashes == 0
        assert "transcribe" not in run.timings, "the fault came too late to test anything"
    finally:
        worker.stop()

    worker = WorkerProcess(settings, log).start()
    try:
        transcript = await wait_for_status(clean, transcript_id, within_s=300)
    finally:
        worker.stop()
    assert transcript.status == "ended", (transcript.error, worker.log()[-3000:])
    run = await clean.runs.latest(transcript_id)
    assert run is not None and run.status == "succeeded" and run.crashes == 0
    print(f"\nSIGTERM: run handed back {handed_back_s:.2f} s after the signal")
