"""The GPU path (WhisperX transcription + wav2vec2 alignment, pyannote diarization) behind the same
protocols as the embedded stack. Run on a CUDA machine with the gpu extra and the model weights in
the Hugging Face cache (or HF_TOKEN): `pytest -m gpu -s`. `make test` deselects these."""

import os
import re
import time

import pytest

from reflector.pipelines import audio
from reflector.pipelines.assemble import assign_speakers
from reflector.pipelines.types import no_progress
from tests.integration.test_asr_models import word_speaker_accuracy
from tests.paths import REAL
from tests.references import read_stm

pytestmark = pytest.mark.gpu

torch = pytest.importorskip("torch")
pytest.importorskip("whisperx")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)


@pytest.fixture(scope="module")
def transcriber():
    from reflector.pipelines.transcribe import WhisperXTranscriber

    return WhisperXTranscriber(model=os.environ.get("WHISPER_MODEL", "large-v3-turbo"), device="cuda")


@pytest.fixture(scope="module")
def diarizer():
    from reflector.pipelines.diarize import PyannoteDiarizer

    return PyannoteDiarizer(token=os.environ.get("HF_TOKEN"), device="cuda")


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


def test_jfk_is_exact_with_aligned_word_times(transcriber) -> None:
    result = transcriber.transcribe(audio.decode(REAL / "jfk.flac"), language=None, progress=no_progress)

    assert result.language == "en"
    assert _plain(" ".join(w.text for w in result.words)) == (
        "and so my fellow americans ask not what your country can do for you ask what you can do for your country"
    )
    assert all(0 <= w.start <= w.end <= 11.1 for w in result.words)


def test_two_speakers_on_the_gpu(transcriber, diarizer) -> None:
    samples = audio.decode(REAL / "two_speakers_sample.wav")
    started = time.perf_counter()
    words = transcriber.transcribe(samples, language="en", progress=no_progress).words
    turns = diarizer.diarize(samples, num_speakers=None, progress=no_progress)
    seconds = time.perf_counter() - started

    accuracy = word_speaker_accuracy(assign_speakers(words, turns), read_stm(REAL / "two_speakers_sample.stm"))
    print(f"\nGPU two_speakers_sample: {audio.duration_of(samples) / seconds:.0f}x real time, accuracy {accuracy:.1%}")
    assert len({t.speaker for t in turns}) == 2
    assert accuracy >= 0.85
