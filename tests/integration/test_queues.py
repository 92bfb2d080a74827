"""Which queue a recording goes to, decided before anything is decoded; what workers count of each queue."""

import asyncio
import subprocess
import sys
from pathlib import Path

import av
import numpy as np

from reflector.bootstrap import Services, queue_figures
from reflector.domain.processing.service import LONG_RECORDING_S
from reflector.domain.webhooks.jobs import DELIVER
from reflector.pipelines.meeting import PipelineOptions
from reflector.settings import Settings
from tests.integration.workers import submit, worker_env
from tests.paths import REAL


def _silence(path: Path, seconds: int) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("flac", rate=8000, layout="mono")
        for _ in range(seconds):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 8000), dtype=np.int16), format="s16", layout="mono")
            frame.sample_rate = 8000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


async def _queued(services: Services, queue: str) -> int:
    return await services.redis.zcard(f"reflector:{queue}")


async def test_a_long_recording_gets_its_own_queue(clean: Services, tmp_path: Path) -> None:
    long_file = _silence(tmp_path / "all-hands.flac", LONG_RECORDING_S + 60)

    long_id = await submit(clean, long_file, PipelineOptions())
    short_id = await submit(clean, REAL / "jfk.flac", PipelineOptions())

    assert (await clean.transcripts.get(long_id)).duration == (LONG_RECORDING_S + 60) * 1000
    assert (await clean.transcripts.get(short_id)).duration == 11_000
    assert await _queued(clean, "speech-long") == 1
    assert await _queued(clean, "speech") == 1


async def test_processing_twice_while_queued_queues_once(clean: Services) -> None:
    transcript_id = await submit(clean, REAL / "jfk.flac", PipelineOptions())

    run, created = await clean.runs.request(transcript_id, PipelineOptions())

    assert not created and run.status == "queued"
    assert await _queued(clean, "speech") == 1


async def test_workers_count_the_jobs_they_end_on_each_queue(clean: Services, settings: Settings) -> None:
    # Attempts at deliveries that do not exist: each job ends at once, which is all this counts.
    for n in range(3):
        await clean.queue.enqueue(DELIVER, f"no-such-delivery-{n}", 1, job_id=f"gone-{n}")
    command = [sys.executable, "-m", "reflector", "worker", "--queues", "webhooks", "--burst"]
    ended = await asyncio.to_thread(
        subprocess.run, command, env=worker_env(settings), capture_output=True, text=True, timeout=300
    )
    assert ended.returncode == 0, ended.stderr[-3000:]

    figures = {queue.queue: queue for queue in await queue_figures(clean)}

    webhooks = figures["reflector:webhooks"]
    assert (webhooks.finished, webhooks.waiting, webhooks.running) == (3, 0, 0)
    assert figures["reflector:speech"].finished == 0
