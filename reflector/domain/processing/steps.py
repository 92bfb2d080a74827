"""What each finished step changes on the transcript, and the events that tell the clients."""

from typing import Any

from msgspec import UNSET

from reflector.adapters.storage import Storage
from reflector.domain.events import (
    ActionItemsData,
    ActionItemsEvent,
    DurationData,
    DurationEvent,
    FinalLongSummaryData,
    FinalLongSummaryEvent,
    FinalShortSummaryData,
    FinalShortSummaryEvent,
    FinalTitleData,
    FinalTitleEvent,
    TranscriptEvent,
    WaveformData,
    WaveformEvent,
    action_items_of,
    topic_event,
)
from reflector.domain.transcripts.models import TranscriptChanges
from reflector.domain.transcripts.service import TranscriptService, audio_key, waveform_key
from reflector.encoding import encode, to_builtins
from reflector.pipelines.meeting import DecodedAudio
from reflector.pipelines.types import Summary, Topic, Word, speaker_label


def topic_row(topic: Topic) -> dict[str, Any]:
    return {
        "title": topic.title,
        "summary": topic.summary,
        "timestamp": topic.start,
        "duration": max(topic.end - topic.start, 0.0),
        "words": to_builtins(topic.words),
    }


def transcript_text(words: list[Word], names: dict[int, str] | None = None) -> str:
    from reflector.pipelines.assemble import segments_from_words

    names = names or {}
    lines = [f"{names.get(s.speaker) or speaker_label(s.speaker)}: {s.text}" for s in segments_from_words(words)]
    return "\n".join(lines)


class StepWriter:
    def __init__(self, transcripts: TranscriptService, storage: Storage, transcript_id: str, owner: str | None):
        self._transcripts = transcripts
        self._storage = storage
        self._id = transcript_id
        self._owner = owner
        self._replaced: set[type[TranscriptEvent]] = set()

    async def write(self, step: str, output: Any) -> None:
        handler = getattr(self, f"_{step}", None)
        if handler is not None:
            # A step written again (its worker died while writing it) replaces its events in the log.
            self._replaced = set()
            await handler(output)

    async def _emit(self, event: TranscriptEvent) -> None:
        if type(event) not in self._replaced:
            await self._transcripts.forget_events(self._id, type(event))
            self._replaced.add(type(event))
        await self._transcripts.emit(self._id, event, owner=self._owner)

    async def _decode(self, decoded: DecodedAudio) -> None:
        duration_ms = round(decoded.duration * 1000, 1)
        await self._transcripts.update(self._id, TranscriptChanges(duration=duration_ms))
        await self._emit(DurationEvent(DurationData(duration=duration_ms)))
        if (await self._transcripts.get(self._id)).audio_deleted:
            return  # its owner deleted the recording while this run went on: keep nothing made from it
        peaks = decoded.peaks
        await self._storage.put_bytes(waveform_key(self._id), encode(peaks))
        await self._emit(WaveformEvent(WaveformData(waveform=peaks)))
        if decoded.mp3 is not None:
            await self._storage.put_file(audio_key(self._id), decoded.mp3)

    async def _transcribe(self, transcription: Any) -> None:
        await self._transcripts.update(self._id, TranscriptChanges(source_language=transcription.language))

    async def _assemble(self, words: list[Word]) -> None:
        names = await self._transcripts.name_from_meeting(self._id, words)
        await self._transcripts.update(self._id, TranscriptChanges(text=transcript_text(words, names)))

    async def _topics(self, topics: list[Topic]) -> None:
        views = await self._transcripts.replace_topics(self._id, [topic_row(t) for t in topics])
        for view, topic in zip(views, topics, strict=True):
            await self._emit(topic_event(view.id, topic))

    async def _summarize(self, summary: Summary) -> None:
        transcript = await self._transcripts.get(self._id)
        items = action_items_of(summary)
        # A title a person typed survives reprocessing: only a meeting without one takes the summary's.
        title = transcript.title or summary.title
        changes = TranscriptChanges(
            short_summary=summary.short_summary,
            long_summary=summary.long_summary,
            action_items=to_builtins(items),
            title=title if title != transcript.title else UNSET,
        )
        await self._transcripts.update(self._id, changes)
        await self._emit(FinalTitleEvent(FinalTitleData(title=title)))
        await self._emit(FinalLongSummaryEvent(FinalLongSummaryData(long_summary=summary.long_summary)))
        await self._emit(FinalShortSummaryEvent(FinalShortSummaryData(short_summary=summary.short_summary)))
        await self._emit(ActionItemsEvent(ActionItemsData(action_items=items)))
