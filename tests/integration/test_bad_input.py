"""Bad recordings end in `error` with a sentence a person understands, and the worker goes on."""

from pathlib import Path

import numpy as np
import pytest

from reflector.bootstrap import Services
from reflector.domain.transcripts.service import meeting_result
from reflector.pipelines.meeting import PipelineOptions
from reflector.settings import Settings
from tests.integration.workers import WorkerProcess, submit, wait_for_status
from tests.media import video_without_audio, wav
from tests.paths import REAL

FAST = PipelineOptions(summarize=False)


@pytest.fixture
def worker(settings: Settings, tmp_path: Path):
    process = WorkerProcess(settings, tmp_path / "worker.log").start()
    yield process
    process.stop()


async def test_bad_inputs_fail_clearly_and_the_worker_keeps_serving(
    clean: Services, worker: WorkerProcess, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("These are my meeting notes, not a recording.\n" * 50)
    truncated = tmp_path / "truncated.mp3"
    truncated.write_bytes((REAL / "hello_48k_stereo.mp3").read_bytes()[:600])
    no_audio = video_without_audio(tmp_path / "silent-film.mp4")
    blip = wav(tmp_path / "blip.wav", np.sin(np.linspace(0, 600, 3200)).astype(np.float32) * 0.3)

    cases = {empty: "empty", text: "not an audio", truncated: "", no_audio: "no audio", blip: "too short"}
    submitted = {path: await submit(clean, path, FAST) for path in cases}
    for path, expected in cases.items():
        transcript = await wait_for_status(clean, submitted[path], within_s=120)
        assert transcript.status == "error", (path.name, transcript.status, worker.log()[-2000:])
        assert transcript.error.endswith("."), transcript.error  # a sentence, not an exception name
        assert "Traceback" not in transcript.error
        assert expected.lower() in transcript.error.lower(), (path.name, transcript.error)

    # The same worker still does good work after all of that.
    good = await submit(clean, REAL / "jfk.flac", FAST)
    transcript = await wait_for_status(clean, good, within_s=300)
    assert transcript.status == "ended", transcript.error
    result = await meeting_result(clean.transcripts, good)
    assert "ask not what your country" in " ".join(w.text for w in result.words).lower()


async def test_ten_minutes_of_silence_end_with_an_empty_transcript(
    clean: Services, worker: WorkerProcess, tmp_path: Path
) -> None:
    silence = wav(tmp_path / "silence.wav", np.zeros(16000 * 600, dtype=np.float32))
    transcript_id = await submit(clean, silence, PipelineOptions())
    transcript = await wait_for_status(clean, transcript_id, within_s=300)
    assert transcript.status == "ended", transcript.error
    assert (await meeting_result(clean.transcripts, transcript_id)).words == []
    assert transcript.title == ""  # nothing to summarise, nothing invented
    assert transcript.duration == pytest.approx(600_000, abs=50)
    assert await clean.transcripts.topics(transcript_id) == []
