"""Live captions from a recording fed piece by piece to the real model, as fast as it decodes."""

import jiwer
import numpy as np
import pytest

from reflector.pipelines import audio
from reflector.pipelines.captions import Caption, CaptionStream
from reflector.pipelines.transcribe import FasterWhisperTranscriber, speech_regions
from reflector.pipelines.types import no_progress
from tests.paths import REAL, SYNTHETIC
from tests.references import normalise, reference_text

PIECE = 1600  # 100 ms, as the web process hands audio on


@pytest.fixture(scope="module")
def transcriber() -> FasterWhisperTranscriber:
    return FasterWhisperTranscriber(batched=False)


def _feed(stream: CaptionStream, samples: np.ndarray) -> list[Caption]:
    out = []
    for at in range(0, len(samples), PIECE):
        stream.feed(samples[at : at + PIECE])
        if stream.ready():
            out.extend(stream.step())
    return out


def test_a_meeting_is_captioned_partial_then_final_as_well_as_the_file_pipeline_transcribes_it(
    transcriber: FasterWhisperTranscriber,
) -> None:
    samples = audio.decode(SYNTHETIC / "standup.wav")
    stream = CaptionStream(transcriber.decode, speech_regions)
    captions = _feed(stream, samples) + stream.flush()

    finals = [c for c in captions if c.final and c.words]
    partials = [c for c in captions if not c.final]
    live_wer = jiwer.wer(reference_text(SYNTHETIC / "standup.stm"), normalise(" ".join(c.text for c in finals)))
    words = FasterWhisperTranscriber().transcribe(samples, language="en", progress=no_progress).words
    file_wer = jiwer.wer(reference_text(SYNTHETIC / "standup.stm"), normalise(" ".join(w.text for w in words)))
    print(f"\n{len(finals)} finals, {len(partials)} partials; WER live {live_wer:.1%}, file pipeline {file_wer:.1%}")
    assert live_wer <= file_wer + 0.05
    # A caption's partials come before its final, and the final is the last word on it.
    last_of: dict[int, Caption] = {}
    for caption in captions:
        assert caption.index not in last_of or not last_of[caption.index].final, caption
        last_of[caption.index] = caption
    assert all(c.final for c in last_of.values())
    assert sum(1 for c in finals if any(p.index == c.index for p in partials)) >= len(finals) // 2
    # Times are the recording's, in order, within it.
    times = [w.start for c in finals for w in c.words]
    assert times == sorted(times) and times[0] >= 0 and finals[-1].end <= len(samples) / 16_000 + 0.5
    assert stream.committed == pytest.approx(len(samples) / 16_000, abs=0.5)


def test_silence_and_noise_give_no_caption(transcriber: FasterWhisperTranscriber) -> None:
    noise = audio.decode(REAL / "squirrel.wav")  # animal sounds, no speech
    silence = np.zeros(16_000 * 5, dtype=np.float32)
    stream = CaptionStream(transcriber.decode, speech_regions)
    captions = _feed(stream, np.concatenate([silence, noise])) + stream.flush()
    assert [c for c in captions if c.words] == []


def test_a_stream_resumed_after_its_last_final_caption_goes_on_where_it_stopped(
    transcriber: FasterWhisperTranscriber,
) -> None:
    """What the live worker does after a crash: a new stream from the saved position, prompt and index."""
    samples = audio.decode(SYNTHETIC / "standup.wav")[: 16_000 * 30]
    first = CaptionStream(transcriber.decode, speech_regions)
    before = [c for c in _feed(first, samples[: 16_000 * 15]) if c.final and c.words]
    assert before
    at = round(first.committed * 16_000)
    again = CaptionStream(
        transcriber.decode, speech_regions, start_at=first.committed, prompt=first.prompt, index=first.index
    )
    after = [c for c in _feed(again, samples[at:]) + again.flush() if c.final and c.words]
    assert after[0].index >= first.index > before[-1].index
    assert after[0].start >= before[-1].end - 0.1
    text = normalise(" ".join(c.text for c in before + after))
    assert "rollback" in text and "staging cluster" in text
    assert "twenty minutes" in text or "20 minutes" in text
