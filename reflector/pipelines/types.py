"""Shapes that flow between pipeline steps. Times are seconds from the start of the audio."""

from collections.abc import Callable

import msgspec

# Called with a fraction in [0, 1] as a step advances.
ProgressFn = Callable[[float], None]


def no_progress(_fraction: float) -> None:
    pass


class Word(msgspec.Struct, frozen=True):
    text: str
    start: float
    end: float
    speaker: int = 0


class Transcription(msgspec.Struct, frozen=True):
    language: str
    words: list[Word]


class SpeakerTurn(msgspec.Struct, frozen=True):
    start: float
    end: float
    speaker: int


class Segment(msgspec.Struct, frozen=True, omit_defaults=True):
    speaker: int
    start: float
    end: float
    text: str  # "" for speech the recognizer heard no words in: the speaker still spoke then
    overlap: bool = False  # someone else spoke for a while at the same time (the words are this speaker's)


class Topic(msgspec.Struct, frozen=True):
    title: str
    summary: str
    start: float
    end: float
    words: list[Word]


class ActionItem(msgspec.Struct, frozen=True):
    task: str
    owner: str | None = None
    due: str | None = None


class Summary(msgspec.Struct, frozen=True):
    title: str
    short_summary: str
    long_summary: str
    decisions: list[str]
    action_items: list[ActionItem]


class MeetingResult(msgspec.Struct):
    """Everything the pipeline knows about one recording: the `--format json` output of `process`."""

    title: str
    short_summary: str
    long_summary: str
    duration: float  # seconds
    language: str
    speakers: list[str]  # labels, e.g. "Speaker 1"; index = speaker number
    segments: list[Segment]
    words: list[Word]
    topics: list[Topic]
    decisions: list[str]
    action_items: list[ActionItem]


def speaker_label(speaker: int) -> str:
    return f"Speaker {speaker + 1}"
