"""Transcripts, their topics, participants and speaker corrections."""

import math
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromQuery, QueryParameter

from reflector.bootstrap import Services
from reflector.domain.auth.models import Caller
from reflector.domain.events import TopicSegment
from reflector.domain.transcripts.access import listing_for
from reflector.domain.transcripts.models import (
    NewTranscript,
    TopicNotFound,
    TopicView,
    TranscriptChanges,
    TranscriptView,
)
from reflector.domain.transcripts.service import meeting_result
from reflector.pipelines.assemble import segments_from_words
from reflector.pipelines.formats import segment_lines, speaker_name, to_vtt
from reflector.pipelines.types import Word as PipelineWord
from reflector.web.api import schemas as s


class TranscriptsController(Controller):
    path = "/v1/transcripts"
    tags: ClassVar[list[str]] = ["transcripts"]

    @get("/", opt={"access": "listing"})
    async def transcripts_list(
        self,
        services: Services,
        caller: Caller,
        page: Annotated[int, QueryParameter(ge=1, le=s.MAX_PAGE)] = 1,
        size: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
        source_kind: FromQuery[Literal["room", "live", "file"] | None] = None,
        room_id: FromQuery[str | None] = None,
        search_term: FromQuery[str | None] = None,
        change_seq_from: Annotated[int | None, QueryParameter(ge=s.BIGINT_MIN, le=s.BIGINT_MAX)] = None,
        sort_by: FromQuery[Literal["created_at", "change_seq"] | None] = None,
    ) -> s.Page:
        items, total = await services.transcripts.page(
            page=page,
            size=size,
            source_kind=source_kind,
            room_id=room_id,
            title_contains=search_term,
            change_seq_from=change_seq_from,
            by_change_seq=sort_by == "change_seq",
            listing=listing_for(caller),
        )
        return s.Page(
            items=[s.minimal(t) for t in items], total=total, page=page, size=size, pages=math.ceil(total / size)
        )

    @post("/", status_code=200, opt={"access": "member"})
    async def transcripts_create(
        self, services: Services, user_id: str | None, data: s.CreateTranscript
    ) -> s.GetTranscriptWithParticipants:
        created = await services.transcripts.create(
            NewTranscript(
                name=data.name,
                source_kind=data.source_kind or "live",
                source_language=data.source_language,
                target_language=data.target_language,
                user_id=user_id,
            )
        )
        return s.minimal(created, s.GetTranscriptWithParticipants, participants=[])

    @get("/{transcript_id:str}", opt={"access": "read"})
    async def transcript_get(
        self,
        services: Services,
        transcript: TranscriptView,
        transcript_id: str,
        transcript_format: FromQuery[s.TranscriptFormat] = "text",
    ) -> s.GetTranscript:
        # The access check read the transcript; its participants and topics come in one more query.
        people, topics = await services.transcripts.speakers_and_topics(transcript_id)
        result = await meeting_result(
            services.transcripts, transcript_id, transcript=transcript, speakers_and_topics=(people, topics)
        )
        body: Any
        if transcript_format == "json":
            body = [
                s.TranscriptSegment(
                    speaker=seg.speaker,
                    speaker_name=speaker_name(result, seg.speaker),
                    text=seg.text,
                    start=seg.start,
                    end=seg.end,
                )
                for seg in result.segments
            ]
        elif transcript_format == "webvtt-named":
            body = to_vtt(result)
        else:
            body = segment_lines(result, timestamped=transcript_format == "text-timestamped")
        items = transcript.action_items or {}
        return s.minimal(
            transcript,
            s.GetTranscript,
            participants=s.participants_of(people),
            transcript_format=transcript_format,
            transcript=body,
            action_items=msgspec.convert(items.get("next_steps", []), list[s.NextStep]),
            decisions=msgspec.convert(items.get("decisions", []), list[s.Decision]),
            error=transcript.error,
        )

    @patch("/{transcript_id:str}", opt={"access": "write"})
    async def transcript_update(
        self, services: Services, transcript_id: str, data: s.UpdateTranscript
    ) -> s.GetTranscriptWithParticipants:
        await services.transcripts.get(transcript_id)
        values = msgspec.structs.asdict(data)
        participants = values.pop("participants")
        await services.transcripts.update(transcript_id, TranscriptChanges(**values))
        if {"title", "long_summary"} & {k for k, v in values.items() if v is not msgspec.UNSET}:
            await services.zulip.transcript_edited(transcript_id)  # its Zulip messages say what it says now
        if participants is not msgspec.UNSET:
            await services.editor.replace_participants(transcript_id, [msgspec.structs.asdict(p) for p in participants])
        view = await services.transcripts.get(transcript_id)
        people = s.participants_of(await services.transcripts.participants(transcript_id))
        return s.minimal(view, s.GetTranscriptWithParticipants, participants=people)

    @delete("/{transcript_id:str}", status_code=200, opt={"access": "write"})
    async def transcript_delete(self, services: Services, transcript_id: str) -> s.DeletionStatus:
        await services.transcripts.delete(transcript_id)
        return s.DeletionStatus(status="ok")

    @get("/{transcript_id:str}/topics", opt={"access": "read"})
    async def transcript_get_topics(self, services: Services, transcript_id: str) -> list[s.GetTranscriptTopic]:
        await services.transcripts.get(transcript_id)
        return [_topic(t, s.GetTranscriptTopic) for t in await services.transcripts.topics(transcript_id)]

    @get("/{transcript_id:str}/topics/with-words", opt={"access": "read"})
    async def transcript_get_topics_with_words(
        self, services: Services, transcript_id: str
    ) -> list[s.GetTranscriptTopicWithWords]:
        await services.transcripts.get(transcript_id)
        return [
            _topic(t, s.GetTranscriptTopicWithWords, words=s.words_of(t.words))
            for t in await services.transcripts.topics(transcript_id)
        ]

    @get("/{transcript_id:str}/topics/{topic_id:str}/words-per-speaker", opt={"access": "read"})
    async def transcript_get_topics_with_words_per_speaker(
        self, services: Services, transcript_id: str, topic_id: str
    ) -> s.GetTranscriptTopicWithWordsPerSpeaker:
        await services.transcripts.get(transcript_id)
        topic = next((t for t in await services.transcripts.topics(transcript_id) if t.id == topic_id), None)
        if topic is None:
            raise TopicNotFound()
        runs: list[s.SpeakerWords] = []
        for word in s.words_of(topic.words):
            if runs and runs[-1].speaker == word.speaker:
                runs[-1].words.append(word)
            else:
                runs.append(s.SpeakerWords(speaker=word.speaker, words=[word]))
        return _topic(topic, s.GetTranscriptTopicWithWordsPerSpeaker, words_per_speaker=runs)

    @get("/{transcript_id:str}/participants", opt={"access": "read"})
    async def transcript_get_participants(self, services: Services, transcript_id: str) -> list[s.Participant]:
        await services.transcripts.get(transcript_id)
        return [_participant(p) for p in await services.transcripts.participants(transcript_id)]

    @post("/{transcript_id:str}/participants", status_code=200, opt={"access": "write"})
    async def transcript_add_participant(
        self, services: Services, transcript_id: str, data: s.CreateParticipant
    ) -> s.Participant:
        return _participant(await services.editor.add_participant(transcript_id, data.name, data.speaker))

    @get("/{transcript_id:str}/participants/{participant_id:str}", opt={"access": "read"})
    async def transcript_get_participant(
        self, services: Services, transcript_id: str, participant_id: str
    ) -> s.Participant:
        await services.transcripts.get(transcript_id)
        return _participant(await services.editor.participant(transcript_id, participant_id))

    @patch("/{transcript_id:str}/participants/{participant_id:str}", opt={"access": "write"})
    async def transcript_update_participant(
        self, services: Services, transcript_id: str, participant_id: str, data: s.UpdateParticipant
    ) -> s.Participant:
        await services.transcripts.get(transcript_id)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        return _participant(await services.editor.update_participant(transcript_id, participant_id, **changes))

    @delete("/{transcript_id:str}/participants/{participant_id:str}", status_code=200, opt={"access": "write"})
    async def transcript_delete_participant(
        self, services: Services, transcript_id: str, participant_id: str
    ) -> s.DeletionStatus:
        await services.transcripts.get(transcript_id)
        await services.editor.delete_participant(transcript_id, participant_id)
        return s.DeletionStatus(status="ok")

    @patch("/{transcript_id:str}/speaker/assign", opt={"access": "write"})
    async def transcript_assign_speaker(
        self, services: Services, transcript_id: str, data: s.SpeakerAssignment
    ) -> s.DeletionStatus:
        await services.editor.assign_speaker(
            transcript_id,
            start=data.timestamp_from,
            end=data.timestamp_to,
            speaker=data.speaker,
            participant_id=data.participant,
        )
        return s.DeletionStatus(status="ok")

    @patch("/{transcript_id:str}/speaker/merge", opt={"access": "write"})
    async def transcript_merge_speaker(
        self, services: Services, transcript_id: str, data: s.SpeakerMerge
    ) -> s.DeletionStatus:
        await services.editor.merge_speakers(transcript_id, data.speaker_from, data.speaker_to)
        return s.DeletionStatus(status="ok")


def _participant(p: Any) -> s.Participant:
    return s.Participant(id=p.id, speaker=p.speaker, name=p.name)


def _topic(topic: TopicView, cls: type, **extra: Any) -> Any:
    words = msgspec.convert(topic.words, list[PipelineWord])
    segments = segments_from_words(words)
    return cls(
        id=topic.id,
        title=topic.title,
        summary=topic.summary,
        timestamp=topic.timestamp,
        duration=topic.duration,
        transcript=" ".join(seg.text for seg in segments),
        segments=[TopicSegment(text=seg.text, start=seg.start, speaker=seg.speaker) for seg in segments],
        **extra,
    )


ROUTES = [TranscriptsController]
