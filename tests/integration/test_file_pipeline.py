"""A meeting through the real services and models: submit, worker, events, `reflector show`."""

import asyncio
import sys
from pathlib import Path

import pytest

from reflector.bootstrap import Services
from reflector.domain.transcripts.service import meeting_result
from reflector.pipelines.meeting import PipelineOptions
from reflector.settings import Settings
from tests.integration.workers import WorkerProcess, submit, wait_for_status, worker_env
from tests.paths import SYNTHETIC

pytestmark = pytest.mark.slow


async def test_standup_meeting_end_to_end(clean: Services, settings: Settings, tmp_path: Path) -> None:
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        transcript_id = await submit(clean, SYNTHETIC / "standup.wav", PipelineOptions(), name="Stand-up")
        transcript = await wait_for_status(clean, transcript_id, within_s=900)
    finally:
        worker.stop()
    assert transcript.status == "ended", (transcript.error, worker.log()[-3000:])

    # Events were logged in the order a client needs them.
    names = [event for event, _ in await clean.transcripts.events(transcript_id)]
    order = ["STATUS", "DURATION", "WAVEFORM", "TOPIC", "FINAL_TITLE", "FINAL_LONG_SUMMARY", "ACTION_ITEMS"]
    positions = [names.index(name) for name in order]
    assert positions == sorted(positions), names
    statuses = [d["value"] for e, d in await clean.transcripts.events(transcript_id) if e == "STATUS"]
    assert statuses == ["processing", "ended"]

    result = await meeting_result(clean.transcripts, transcript_id)
    assert len(result.speakers) == 3
    assert result.title and result.short_summary and result.long_summary
    assert result.topics and all(t.title for t in result.topics)
    # Speakers are unnamed here: an owner is a name the meeting used or the label of who spoke.
    owners = {(item.owner or "").lower() for item in result.action_items}
    assert owners & {"alice", "bob", "carol", "speaker 1", "speaker 2", "speaker 3"}, result.action_items
    assert transcript.duration == pytest.approx(70_000, rel=0.05)  # milliseconds, as Reflector
    assert await clean.storage.size(f"transcripts/{transcript_id}/audio.mp3")

    shown = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reflector", "show", transcript_id, "--format", "md",
        env=worker_env(settings), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(shown.communicate(), 60)
    assert shown.returncode == 0, stderr.decode()
    assert result.title in stdout.decode()
    assert "Speaker 1" in stdout.decode() and "Speaker 3" in stdout.decode()
