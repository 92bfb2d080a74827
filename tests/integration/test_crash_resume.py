"""A worker killed mid-step loses nothing: the run resumes after its last finished step."""

import asyncio
import time
from pathlib import Path

import pytest

from reflector.bootstrap import Services
from reflector.domain.processing.models import RunView
from reflector.domain.transcripts.service import meeting_result, steps_prefix
from reflector.pipelines.meeting import PipelineOptions
from reflector.settings import Settings
from tests.integration.workers import WorkerProcess, submit, wait_for_status
from tests.paths import REAL

pytestmark = pytest.mark.slow


async def _wait_run(services: Services, transcript_id: str, ready, within_s: float = 240) -> RunView:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        run = await services.runs.latest(transcript_id)
        if run is not None and ready(run):
            return run
        await asyncio.sleep(0.1)
    raise TimeoutError("the run never reached the awaited state")


async def test_sigkill_mid_transcription_and_mid_diarization_then_resume(
    clean: Services, settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    log = tmp_path / "worker.log"
    started: list[WorkerProcess] = []
    # A worker left running after a failure would take the next tests' jobs.
    request.addfinalizer(lambda: [w.kill() for w in started])

    def start() -> WorkerProcess:
        started.append(WorkerProcess(settings, log).start())
        return started[-1]

    worker = start()
    transcript_id = await submit(clean, REAL / "physicsworks.wav", PipelineOptions())

    # 1. Killed while transcribing: nothing of the transcription is kept yet.
    await _wait_run(clean, transcript_id, lambda r: r.status == "running" and "decode" in r.timings)
    worker.kill()
    run = await clean.runs.latest(transcript_id)
    assert run is not None and "transcribe" not in run.timings

    # 2. Restarted, then killed once one of the two side-by-side steps finished and the other still runs
    # (which finishes first depends on the CPU: transcription here, diarization on others).
    worker = start()
    run = await _wait_run(
        clean, transcript_id, lambda r: len({"transcribe", "diarize"} & r.timings.keys()) == 1 and r.attempts == 2
    )
    worker.kill()
    (finished,) = {"transcribe", "diarize"} & run.timings.keys()
    checkpoint = settings.data_dir / "storage" / steps_prefix(transcript_id) / f"{finished}.json"
    finished_at = checkpoint.stat().st_mtime_ns

    # 3. Restarted: the run resumes, keeps the finished transcription and ends.
    worker = start()
    try:
        transcript = await wait_for_status(clean, transcript_id, within_s=600)
    finally:
        worker.stop()
    assert transcript.status == "ended", (transcript.error, worker.log()[-3000:])
    run = await clean.runs.latest(transcript_id)
    # Three starts of the speech job (two killed), one of the analysis job.
    assert run is not None and run.status == "succeeded" and run.attempts == 4 and run.crashes == 2
    assert checkpoint.stat().st_mtime_ns == finished_at, f"the finished step ({finished}) was redone"

    result = await meeting_result(clean.transcripts, transcript_id)
    assert len(result.words) > 300
    keys = [(w.start, w.text) for w in result.words]
    assert len(keys) == len(set(keys)), "duplicated words"
    assert keys == sorted(keys, key=lambda k: k[0])
    topics = await clean.transcripts.topics(transcript_id)
    assert topics and [t.position for t in topics] == list(range(len(topics))), "duplicated topics"
    statuses = [d["value"] for e, d in await clean.transcripts.events(transcript_id) if e == "STATUS"]
    assert statuses[-1] == "ended"
