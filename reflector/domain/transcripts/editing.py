"""Corrections people make after processing: participants (names for speakers), reassigning the
words of a time range to a speaker, merging two speakers, fixing a word's text. Reflector's rules,
kept in one place."""

from typing import Any

import structlog

from reflector.domain.errors import DomainError
from reflector.domain.ids import looks_like_id
from reflector.domain.transcripts import repository
from reflector.domain.transcripts.models import (
    ParticipantNotFound,
    ParticipantView,
    SpeakerConflict,
    TopicNotFound,
    TranscriptChanges,
)
from reflector.domain.transcripts.service import TranscriptService
from reflector.pipelines.assemble import segments_from_words
from reflector.pipelines.types import Word, speaker_label

log = structlog.get_logger(__name__)

_UNSET: Any = object()
NAME_MAX = 255  # names, a participant's as a transcript's, are VARCHAR(255)


class InvalidCorrection(DomainError):
    """A correction that cannot be made as asked; the message tells the person what to do instead."""


class TranscriptEditor:
    def __init__(self, transcripts: TranscriptService) -> None:
        self._transcripts = transcripts

    async def participant(self, transcript_id: str, participant_id: str) -> ParticipantView:
        if not looks_like_id(participant_id):
            raise ParticipantNotFound()
        for participant in await self._transcripts.participants(transcript_id):
            if participant.id == participant_id:
                return participant
        raise ParticipantNotFound()

    async def add_participant(self, transcript_id: str, name: str, speaker: int | None) -> ParticipantView:
        await self._transcripts.get(transcript_id)
        await self._check_speaker_free(transcript_id, speaker, None)
        created = await repository.insert_participant(transcript_id, {"name": name, "speaker": speaker})
        await self.refresh_text(transcript_id)
        return created

    async def update_participant(
        self, transcript_id: str, participant_id: str, *, name: str = _UNSET, speaker: int | None = _UNSET
    ) -> ParticipantView:
        await self.participant(transcript_id, participant_id)
        values: dict[str, Any] = {}
        if name is not _UNSET:
            values["name"] = name
        if speaker is not _UNSET:
            await self._check_speaker_free(transcript_id, speaker, participant_id)
            values["speaker"] = speaker
        if values:
            values["evidence"] = None  # a person's correction: no longer the meeting's guess
            await repository.update_participant(participant_id, values)
            await self.refresh_text(transcript_id)
        return await self.participant(transcript_id, participant_id)

    async def unname(self, transcript_id: str, participant_id: str) -> None:
        """Take back a name the meeting gave a voice: the voice is a numbered speaker again, and the name
        stays a participant the meeting will not give to any voice when it is processed again."""
        participant = await self.participant(transcript_id, participant_id)
        if not participant.evidence:
            raise InvalidCorrection(f"{participant.name} was named by a person: rename or remove them instead.")
        await repository.update_participant(participant_id, {"speaker": None, "evidence": []})
        await self.refresh_text(transcript_id)

    async def delete_participant(self, transcript_id: str, participant_id: str) -> None:
        await self.participant(transcript_id, participant_id)
        await repository.delete_participant(participant_id)
        await self.refresh_text(transcript_id)

    async def replace_participants(self, transcript_id: str, participants: list[dict[str, Any]]) -> None:
        speakers = [p.get("speaker") for p in participants if p.get("speaker") is not None]
        if len(speakers) != len(set(speakers)):
            raise SpeakerConflict("Speaker already assigned")
        await repository.replace_participants(
            transcript_id, [{"name": p.get("name", ""), "speaker": p.get("speaker")} for p in participants]
        )
        await self.refresh_text(transcript_id)

    async def _check_speaker_free(self, transcript_id: str, speaker: int | None, participant_id: str | None) -> None:
        if speaker is None:
            return
        for other in await self._transcripts.participants(transcript_id):
            if other.speaker == speaker and other.id != participant_id:
                raise SpeakerConflict("Speaker already assigned")

    async def assign_speaker(
        self,
        transcript_id: str,
        *,
        start: float,
        end: float,
        speaker: int | None = None,
        participant_id: str | None = None,
    ) -> None:
        """Every word starting within [start, end] goes to the speaker (or the participant's speaker,
        allocating the first unused number to a participant that has none)."""
        if (speaker is None) == (participant_id is None):
            raise SpeakerConflict("Either speaker or participant must be given")
        if participant_id is not None:
            participant = await self.participant(transcript_id, participant_id)
            speaker = participant.speaker
            if speaker is None:
                speaker = await self._unused_speaker(transcript_id)
                await repository.update_participant(participant_id, {"speaker": speaker})
        await self._relabel(transcript_id, lambda w: start <= w["start"] <= end, speaker)

    async def name_speaker(self, transcript_id: str, speaker: int, name: str) -> ParticipantView:
        """Give a speaker number a name: rename the participant that has it, or create one for it."""
        name = _name_of(name, missing="Type a name for the speaker")
        for participant in await self._transcripts.participants(transcript_id):
            if participant.speaker == speaker:
                return await self.update_participant(transcript_id, participant.id, name=name)
        return await self.add_participant(transcript_id, name, speaker)

    async def assign_to_new_participant(
        self, transcript_id: str, name: str, *, start: float, end: float
    ) -> ParticipantView:
        """A new participant who said every word starting within [start, end]."""
        name = _name_of(name, missing="Type the new participant's name")
        created = await self.add_participant(transcript_id, name, None)
        await self.assign_speaker(transcript_id, start=start, end=end, participant_id=created.id)
        return await self.participant(transcript_id, created.id)

    async def edit_word(self, transcript_id: str, topic_id: str, index: int, text: str) -> None:
        """Change what a word says, keeping when it was said and by whom (a mis-heard word, a name)."""
        text = _tidy(text)
        if not text:
            raise InvalidCorrection("A word cannot be empty: type its text")
        await self._transcripts.get(transcript_id)
        words = dict(await repository.topic_words(transcript_id)).get(topic_id)
        if words is None:
            raise TopicNotFound()
        if not 0 <= index < len(words):
            raise InvalidCorrection(f"This topic has no word number {index + 1}: reload the page and try again")
        edited = [*words]
        edited[index] = {**words[index], "text": text}
        await repository.set_topic_words({topic_id: edited})
        await self.refresh_text(transcript_id)
        log.info("transcript.word_edited", transcript_id=transcript_id, topic_id=topic_id, index=index)

    async def merge_speakers(self, transcript_id: str, speaker_from: int, speaker_to: int) -> None:
        named = {p.speaker for p in await self._transcripts.participants(transcript_id)}
        if speaker_from in named and speaker_to in named:
            raise SpeakerConflict("Both speakers are assigned to participants")
        await self._relabel(transcript_id, lambda w: w.get("speaker") == speaker_from, speaker_to)

    async def _unused_speaker(self, transcript_id: str) -> int:
        used = {p.speaker for p in await self._transcripts.participants(transcript_id) if p.speaker is not None}
        for _, words in await repository.topic_words(transcript_id):
            used.update(w.get("speaker", 0) for w in words)
        return next(n for n in range(len(used) + 1) if n not in used)

    async def _relabel(self, transcript_id: str, selected: Any, speaker: int | None) -> None:
        await self._transcripts.get(transcript_id)
        changes = {}
        for topic_id, words in await repository.topic_words(transcript_id):
            if any(selected(w) for w in words):
                changes[topic_id] = [{**w, "speaker": speaker} if selected(w) else w for w in words]
        if changes:
            await repository.set_topic_words(changes)
        await self.refresh_text(transcript_id)

    async def refresh_text(self, transcript_id: str) -> None:
        """The searchable text, with participants' names, after any change to who said what."""
        names = {p.speaker: p.name for p in await self._transcripts.participants(transcript_id)}
        words = [
            Word(text=w["text"], start=w["start"], end=w["end"], speaker=w.get("speaker", 0))
            for _, topic_words in await repository.topic_words(transcript_id)
            for w in topic_words
        ]
        lines = [f"{names.get(s.speaker) or speaker_label(s.speaker)}: {s.text}" for s in segments_from_words(words)]
        await self._transcripts.update(transcript_id, TranscriptChanges(text="\n".join(lines)))


def _tidy(text: str) -> str:
    """Text as typed, without the stray spaces and line breaks a form lets through."""
    return " ".join(text.split())


def _name_of(typed: str, *, missing: str) -> str:
    name = _tidy(typed)
    if not name:
        raise InvalidCorrection(missing)
    if len(name) > NAME_MAX:
        raise InvalidCorrection(f"A name can be at most {NAME_MAX} characters; this one has {len(name)}")
    return name
