"""SQL for the transcripts module (piccolo). Returns Structs, takes plain values."""

from typing import Any

import msgspec

from reflector.domain.transcripts.models import ParticipantView, TopicView, TranscriptView
from reflector.domain.transcripts.tables import Participant, Topic, Transcript, TranscriptEvent

_VIEW_COLUMNS = [getattr(Transcript, name) for name in TranscriptView.__struct_fields__]


def _view(row: dict[str, Any]) -> TranscriptView:
    return msgspec.convert(row, TranscriptView, from_attributes=False)


async def insert(values: dict[str, Any]) -> TranscriptView:
    row = Transcript(**values)
    await row.save()
    fetched = await get(row.id)
    assert fetched is not None
    return fetched


async def get(transcript_id: str) -> TranscriptView | None:
    row = await Transcript.select(*_VIEW_COLUMNS).where(Transcript.id == transcript_id).output(load_json=True).first()
    return _view(row) if row else None


async def list_recent(limit: int = 50, user_id: str | None = None) -> list[TranscriptView]:
    query = (
        Transcript.select(*_VIEW_COLUMNS)
        .order_by(Transcript.created_at, ascending=False)
        .limit(limit)
        .output(load_json=True)
    )
    if user_id is not None:
        query = query.where(Transcript.user_id == user_id)
    return [_view(row) for row in await query]


async def update(transcript_id: str, values: dict[str, Any]) -> None:
    await Transcript.update({getattr(Transcript, k): v for k, v in values.items()}).where(
        Transcript.id == transcript_id
    )


async def delete(transcript_id: str) -> None:
    await Transcript.delete().where(Transcript.id == transcript_id)


async def replace_topics(transcript_id: str, topics: list[dict[str, Any]]) -> list[TopicView]:
    """All topics of a transcript at once, in one transaction, so a retried step never duplicates."""
    rows = [Topic(transcript_id=transcript_id, position=i, **topic) for i, topic in enumerate(topics)]
    async with Topic._meta.db.transaction():
        await Topic.delete().where(Topic.transcript_id == transcript_id)
        if rows:
            await Topic.insert(*rows)
    return await topics_of(transcript_id)


async def topics_of(transcript_id: str) -> list[TopicView]:
    rows = (
        await Topic.select(
            Topic.id, Topic.position, Topic.title, Topic.summary, Topic.timestamp, Topic.duration, Topic.words
        )
        .where(Topic.transcript_id == transcript_id)
        .order_by(Topic.position)
        .output(load_json=True)
    )
    return [msgspec.convert(row, TopicView) for row in rows]


async def participants_of(transcript_id: str) -> list[ParticipantView]:
    rows = (
        await Participant.select(Participant.id, Participant.speaker, Participant.name, Participant.user_id)
        .where(Participant.transcript_id == transcript_id)
        .order_by(Participant.speaker)
    )
    return [msgspec.convert(row, ParticipantView) for row in rows]


async def append_event(transcript_id: str, event: str, data: dict[str, Any]) -> None:
    await TranscriptEvent.insert(TranscriptEvent(transcript_id=transcript_id, event=event, data=data))


async def events_of(transcript_id: str) -> list[tuple[str, dict[str, Any]]]:
    rows = (
        await TranscriptEvent.select(TranscriptEvent.event, TranscriptEvent.data)
        .where(TranscriptEvent.transcript_id == transcript_id)
        .order_by(TranscriptEvent.id)
        .output(load_json=True)
    )
    return [(row["event"], row["data"]) for row in rows]


async def clear_events(transcript_id: str) -> None:
    await TranscriptEvent.delete().where(TranscriptEvent.transcript_id == transcript_id)
