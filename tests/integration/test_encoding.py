"""Each step's real output, and each progress value the models report, goes through the one encoder of
events and checkpoints and comes back as the same plain numbers (model libraries hand out numpy)."""

import tempfile
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from reflector.domain.events import ProgressData, caption_event
from reflector.encoding import encode, to_builtins
from reflector.pipelines import audio
from reflector.pipelines.assemble import assign_speakers
from reflector.pipelines.captions import CaptionStream
from reflector.pipelines.diarize import SenkoDiarizer
from reflector.pipelines.transcribe import FasterWhisperTranscriber, speech_regions
from reflector.pipelines.types import SpeakerTurn, Transcription, Word
from tests.paths import REAL

PLAIN = (str, int, float, bool, type(None))


def _assert_plain(value: Any, where: str = "value") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _assert_plain(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _assert_plain(item, f"{where}[{i}]")
    else:
        assert type(value) in PLAIN, f"{where} is {type(value).__module__}.{type(value).__name__}"


def _round_trip(value: Any, kind: Any) -> None:
    assert msgspec.json.decode(encode(value), type=kind) == value
    _assert_plain(to_builtins(value))


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    return audio.decode(REAL / "two_speakers_sample.wav")


@pytest.fixture(scope="module")
def reported() -> list[float]:
    """Every progress value the steps below reported, as they reported it."""
    return []


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "sequential"])
def test_both_transcription_paths(samples: np.ndarray, reported: list[float], batched: bool) -> None:
    transcriber = FasterWhisperTranscriber(batched=batched)
    result = transcriber.transcribe(samples, language="en", progress=reported.append)
    assert len(result.words) > 20
    _round_trip(result, Transcription)


def test_diarization_and_speaker_attribution(samples: np.ndarray, reported: list[float]) -> None:
    diarizer = SenkoDiarizer(Path(tempfile.gettempdir()) / "reflector-test-numba")
    turns = diarizer.diarize(samples, num_speakers=None, progress=reported.append)
    assert len({t.speaker for t in turns}) >= 2
    _round_trip(turns, list[SpeakerTurn])
    words = FasterWhisperTranscriber().transcribe(samples, language="en", progress=reported.append).words
    _round_trip(assign_speakers(words, turns), list[Word])


def test_live_captions(samples: np.ndarray) -> None:
    stream = CaptionStream(FasterWhisperTranscriber(batched=False).decode, speech_regions)
    captions = []
    for at in range(0, 16_000 * 12, 1600):
        stream.feed(samples[at : at + 1600])
        if stream.ready():
            captions.extend(stream.step())
    captions.extend(stream.flush())
    assert any(c.final and c.words for c in captions)
    for caption in captions:
        _assert_plain(msgspec.json.decode(encode(caption_event(caption))))
        _assert_plain(to_builtins(caption_event(caption)))


def test_every_reported_progress_value_makes_an_event(reported: list[float]) -> None:
    assert reported, "the steps above report progress"
    for fraction in [*reported, np.float64(0.5), np.float32(0.25)]:
        event = ProgressData(step="diarize", fraction=fraction, overall=fraction, eta_seconds=np.float64(3.0))
        _assert_plain(to_builtins(event))
        assert msgspec.json.decode(encode(event))["fraction"] == pytest.approx(float(fraction))
