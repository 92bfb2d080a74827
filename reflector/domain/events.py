"""Every event the product sends its clients, each a Struct tagged with its name.

On the wire an event is Reflector's envelope `{"event": NAME, "data": {...}}`, which is what encoding one
of these Structs gives. Transcript events go to the transcript's channel (and its stored log); user
events go to the owner's channel. Reflector's names and payloads, plus ours: PROGRESS, TRANSLATION and
the extra caption fields. Producers build them here, the sockets and the OpenAPI document read them
from here: there is no second description of a payload.
"""

from typing import TYPE_CHECKING, TypeAlias

import msgspec

from reflector.pipelines.assemble import segments_from_words
from reflector.word_text import on_the_wire

if TYPE_CHECKING:
    from reflector.pipelines.captions import Caption
    from reflector.pipelines.types import Summary, Topic

# --- Payloads ---


class CaptionWord(msgspec.Struct, frozen=True):
    text: str
    start: float
    end: float


class CaptionData(msgspec.Struct, frozen=True):
    """A live caption. Reflector's `text` and `translation`, then ours: a partial caption (`final`
    false) is replaced by the next one of the same `index`; times are seconds into the recording.
    Partial captions are sent only on a socket opened with `?partials=true`."""

    text: str
    translation: str | None
    final: bool = True
    index: int = 0
    start: float = 0.0
    end: float = 0.0
    words: list[CaptionWord] = []


class TranslationData(msgspec.Struct, frozen=True):
    """Ours: the final caption `index` machine-translated into the transcript's target language
    (`translation` null when it could not be)."""

    index: int
    text: str
    translation: str | None
    source_language: str
    target_language: str
    machine: bool = True


class TopicSegment(msgspec.Struct):
    text: str
    start: float
    speaker: int


class TopicData(msgspec.Struct):
    id: str
    title: str
    summary: str
    timestamp: float
    duration: float | None
    transcript: str
    segments: list[TopicSegment]


class StatusData(msgspec.Struct, frozen=True):
    value: str


class ProgressData(msgspec.Struct, frozen=True):
    step: str
    fraction: float  # of the step, 0..1
    overall: float  # of the whole run, 0..1
    eta_seconds: float | None


class FinalTitleData(msgspec.Struct, frozen=True):
    title: str


class FinalLongSummaryData(msgspec.Struct, frozen=True):
    long_summary: str


class FinalShortSummaryData(msgspec.Struct, frozen=True):
    short_summary: str


class Decision(msgspec.Struct):
    decision: str
    rationale: str | None = None
    decided_by: str | None = None
    decided_by_participant_id: str | None = None


class NextStep(msgspec.Struct):
    task: str
    assigned_to: str | None = None
    assigned_to_participant_id: str | None = None
    deadline: str | None = None
    context: str | None = None


class ActionItems(msgspec.Struct):
    """Reflector's action-items shape, from the summary step to the transcript's column and the API."""

    decisions: list[Decision] = []
    next_steps: list[NextStep] = []


class ActionItemsData(msgspec.Struct, frozen=True):
    action_items: ActionItems


class DurationData(msgspec.Struct, frozen=True):
    duration: float  # milliseconds


class WaveformData(msgspec.Struct, frozen=True):
    waveform: list[float]


class TranscriptIdData(msgspec.Struct, frozen=True):
    id: str


class TranscriptStatusData(msgspec.Struct, frozen=True):
    id: str
    value: str


class TranscriptTitleData(msgspec.Struct, frozen=True):
    id: str
    title: str


class TranscriptDurationData(msgspec.Struct, frozen=True):
    id: str
    duration: float  # milliseconds


# --- User events: the owner's channel ---


class UserEvent(msgspec.Struct, frozen=True, tag_field="event"):
    pass


class TranscriptCreatedEvent(UserEvent, frozen=True, tag="TRANSCRIPT_CREATED"):
    data: TranscriptIdData


class TranscriptDeletedEvent(UserEvent, frozen=True, tag="TRANSCRIPT_DELETED"):
    data: TranscriptIdData


class TranscriptStatusEvent(UserEvent, frozen=True, tag="TRANSCRIPT_STATUS"):
    data: TranscriptStatusData


class TranscriptFinalTitleEvent(UserEvent, frozen=True, tag="TRANSCRIPT_FINAL_TITLE"):
    data: TranscriptTitleData


class TranscriptDurationEvent(UserEvent, frozen=True, tag="TRANSCRIPT_DURATION"):
    data: TranscriptDurationData


# --- Transcript events: the transcript's channel ---


class TranscriptEvent(msgspec.Struct, frozen=True, tag_field="event"):
    def stored(self) -> bool:
        """Kept in the transcript's log and replayed to late subscribers, or only sent to those listening."""
        return True

    def for_owner(self, transcript_id: str) -> UserEvent | None:
        """The same news on the owner's channel, where Reflector mirrors it as TRANSCRIPT_<NAME>."""
        return None


class CaptionEvent(TranscriptEvent, frozen=True, tag="TRANSCRIPT"):
    data: CaptionData

    def stored(self) -> bool:
        # Partials are replaced within a second: sent, not kept.
        return self.data.final


class TranslationEvent(TranscriptEvent, frozen=True, tag="TRANSLATION"):
    data: TranslationData


class TopicEvent(TranscriptEvent, frozen=True, tag="TOPIC"):
    data: TopicData


class StatusEvent(TranscriptEvent, frozen=True, tag="STATUS"):
    data: StatusData

    def for_owner(self, transcript_id: str) -> UserEvent:
        return TranscriptStatusEvent(TranscriptStatusData(id=transcript_id, value=self.data.value))


class FinalTitleEvent(TranscriptEvent, frozen=True, tag="FINAL_TITLE"):
    data: FinalTitleData

    def for_owner(self, transcript_id: str) -> UserEvent:
        return TranscriptFinalTitleEvent(TranscriptTitleData(id=transcript_id, title=self.data.title))


class FinalLongSummaryEvent(TranscriptEvent, frozen=True, tag="FINAL_LONG_SUMMARY"):
    data: FinalLongSummaryData


class FinalShortSummaryEvent(TranscriptEvent, frozen=True, tag="FINAL_SHORT_SUMMARY"):
    data: FinalShortSummaryData


class ActionItemsEvent(TranscriptEvent, frozen=True, tag="ACTION_ITEMS"):
    data: ActionItemsData


class DurationEvent(TranscriptEvent, frozen=True, tag="DURATION"):
    data: DurationData

    def for_owner(self, transcript_id: str) -> UserEvent:
        return TranscriptDurationEvent(TranscriptDurationData(id=transcript_id, duration=self.data.duration))


class WaveformEvent(TranscriptEvent, frozen=True, tag="WAVEFORM"):
    data: WaveformData


class ProgressEvent(TranscriptEvent, frozen=True, tag="PROGRESS"):
    """Ours, not Reflector's: processing progress, live only (never replayed)."""

    data: ProgressData

    def stored(self) -> bool:
        return False


TranscriptWsEvent: TypeAlias = (
    CaptionEvent
    | TranslationEvent
    | TopicEvent
    | StatusEvent
    | FinalTitleEvent
    | FinalLongSummaryEvent
    | FinalShortSummaryEvent
    | ActionItemsEvent
    | DurationEvent
    | WaveformEvent
    | ProgressEvent
)

UserWsEvent: TypeAlias = (
    TranscriptCreatedEvent
    | TranscriptDeletedEvent
    | TranscriptStatusEvent
    | TranscriptFinalTitleEvent
    | TranscriptDurationEvent
)


def name_of(event: type[TranscriptEvent | UserEvent] | TranscriptEvent | UserEvent) -> str:
    """An event's name on the wire and in the stored log (its tag)."""
    tag = event.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def parse(name: str, data: object) -> TranscriptEvent:
    """A stored or published transcript event back into its Struct."""
    return msgspec.convert({"event": name, "data": data}, TranscriptWsEvent)


# --- Built from the pipelines' outputs ---


def topic_event(topic_id: str, topic: "Topic") -> TopicEvent:
    """Reflector's TOPIC payload: the topic with its words grouped into speaker segments."""
    segments = segments_from_words(topic.words)
    return TopicEvent(
        TopicData(
            id=topic_id,
            title=topic.title,
            summary=topic.summary,
            timestamp=topic.start,
            duration=max(topic.end - topic.start, 0.0),
            transcript=" ".join(s.text for s in segments),
            segments=[TopicSegment(text=s.text, start=s.start, speaker=s.speaker) for s in segments],
        )
    )


def caption_event(caption: "Caption") -> CaptionEvent:
    """Reflector's TRANSCRIPT `{text, translation}`, with the words, times and whether it is final."""
    return CaptionEvent(
        CaptionData(
            text=caption.text,
            translation=None,
            final=caption.final,
            index=caption.index,
            start=caption.start,
            end=caption.end,
            words=[CaptionWord(text=on_the_wire(w.text), start=w.start, end=w.end) for w in caption.words],
        )
    )


def action_items_of(summary: "Summary") -> ActionItems:
    return ActionItems(
        decisions=[Decision(decision=d) for d in summary.decisions],
        next_steps=[NextStep(task=i.task, assigned_to=i.owner, deadline=i.due) for i in summary.action_items],
    )
