"""The ports of the processing pipeline. Each has an embedded CPU backend and a GPU or remote one.

Audio everywhere is 16 kHz mono float32 in [-1, 1] (see `audio.SAMPLE_RATE`).
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import msgspec
import numpy as np

from reflector.pipelines.types import ProgressFn, SpeakerTurn, Transcription, Word

if TYPE_CHECKING:  # speech.py reads audio.py, which raises this module's AudioError
    from reflector.pipelines.speech import VoiceActivity


class Transcriber(Protocol):
    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None,
        progress: ProgressFn,
        names: Sequence[str] = (),
        activity: "VoiceActivity | None" = None,
    ) -> Transcription:
        """Words with start/end times; `language` None means detect it; `names`: people who may be named;
        `activity`: the recording's speech, shared with the diarizer (computed here when not given)."""
        ...

    def second_hearing(self, audio: np.ndarray, spans: Sequence[tuple[float, float]], *, language: str) -> list[Word]:
        """Words for `spans` (seconds) where a voice was heard but `transcribe` wrote nothing."""
        ...


class Diarizer(Protocol):
    def diarize(
        self,
        audio: np.ndarray,
        *,
        num_speakers: int | None,
        progress: ProgressFn,
        activity: "VoiceActivity | None" = None,
    ) -> list[SpeakerTurn]:
        """Speaker turns sorted by start, speakers numbered 0.. in order of first appearance; `activity` as for
        the transcriber."""
        ...


class ChatMessage(msgspec.Struct, frozen=True):
    role: str  # "system" | "user" | "assistant"
    content: str


class LLM(Protocol):
    context_window: int

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict | None = None,
        max_tokens: int = 512,
        temperature: float = 0.3,
    ) -> str:
        """The assistant's reply; with `json_schema`, output constrained to JSON of that schema."""
        ...

    def count_tokens(self, text: str) -> int: ...


class ModelUnavailable(Exception):
    """A configured model cannot be loaded; the message names the setting to change."""


class UnsupportedLanguage(ModelUnavailable):
    """The configured model cannot transcribe the requested language."""


class AudioError(Exception):
    """The input cannot be used as audio; the message is a sentence for the person who sent it."""
