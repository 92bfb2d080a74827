"""SQL for the transcripts module (piccolo). Returns Structs, takes plain values."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from reflector.adapters.events import TranscriptEventMessage
from reflector.domain.transcripts.access import Listing
from reflector.domain.transcripts.models import ListedTranscript, ParticipantView, TopicView, TranscriptView
from reflector.domain.transcripts.tables import Participant, Topic, Transcript, TranscriptEvent
from reflector.pipelines.types import Topic as SpokenTopic
from reflector.pipelines.types import Word

_VIEW_COLUMNS = [getattr(Transcript, name) for name in TranscriptView.__struct_fields__]
# The hottest reads are plain SQL: piccolo's query builder cost more CPU than the query itself (a read of
# one transcript 0.65 against 0.28 ms), and every route of a transcript reads it for its access check.
_VIEW_SQL = ", ".join(TranscriptView.__struct_fields__)
_LISTED_SQL = ", ".join(f"t.{name}" for name in ListedTranscript.__struct_fields__)
_WORDS = msgspec.json.Decoder(list[Word])
_PARTICIPANTS = msgspec.json.Decoder(list[ParticipantView])
# A participant as a JSON object with ParticipantView's fields, so the one-query read cannot miss a field added.
_PARTICIPANT_JSON = ", ".join(f"'{name}', {name}" for name in ParticipantView.__struct_fields__)


def _view(row: dict[str, Any]) -> TranscriptView:
    return msgspec.convert(row, TranscriptView, from_attributes=False)


def _raw_view(row: dict[str, Any]) -> TranscriptView:
    """A row of plain SQL, whose JSON columns come back as text."""
    row["action_items"] = msgspec.json.decode(row["action_items"])
    return msgspec.convert(row, TranscriptView)


async def insert(values: dict[str, Any]) -> TranscriptView:
    row = Transcript(**values)
    await row.save()
    fetched = await get(row.id)
    assert fetched is not None
    return fetched


async def get(transcript_id: str) -> TranscriptView | None:
    """The transcript, unless it is in the trash (then it is as good as deleted)."""
    return await _one(transcript_id, trashed=False)


async def get_trashed(transcript_id: str) -> TranscriptView | None:
    return await _one(transcript_id, trashed=True)


async def _one(transcript_id: str, *, trashed: bool) -> TranscriptView | None:
    in_trash = "IS NOT NULL" if trashed else "IS NULL"
    rows = await Transcript.raw(
        f"SELECT {_VIEW_SQL} FROM transcript WHERE id = {{}} AND deleted_at {in_trash}", transcript_id
    )
    return _raw_view(rows[0]) if rows else None


async def trashed_of(owner_id: str) -> list[TranscriptView]:
    """An owner's trash, the most recently deleted first."""
    rows = (
        await Transcript.select(*_VIEW_COLUMNS)
        .where((Transcript.user_id == owner_id) & Transcript.deleted_at.is_not_null())
        .order_by(Transcript.deleted_at, ascending=False)
        .output(load_json=True)
    )
    return [_view(row) for row in rows]


async def trashed_before(cutoff: datetime, limit: int) -> list[str]:
    """Transcripts in the trash since before `cutoff`, the oldest first."""
    rows = (
        await Transcript.select(Transcript.id)
        .where(Transcript.deleted_at.is_not_null() & (Transcript.deleted_at < cutoff))
        .order_by(Transcript.deleted_at)
        .limit(limit)
    )
    return [row["id"] for row in rows]


async def with_audio_before(room_id: str, cutoff: datetime, limit: int) -> list[str]:
    """A room's transcripts made before `cutoff` that still have their audio and are not being made."""
    rows = (
        await Transcript.select(Transcript.id)
        .where(
            (Transcript.room_id == room_id)
            & (Transcript.created_at < cutoff)
            & Transcript.audio_deleted.eq(False)
            & Transcript.deleted_at.is_null()
            & Transcript.status.not_in(["recording", "processing", "uploaded"])
        )
        .order_by(Transcript.created_at)
        .limit(limit)
    )
    return [row["id"] for row in rows]


async def detach_room(room_id: str) -> int:
    """Every transcript of the room (trashed ones too) belongs to no room or meeting any more; how many."""
    rows = (
        await Transcript.update({Transcript.room_id: None, Transcript.meeting_id: None})
        .where(Transcript.room_id == room_id)
        .returning(Transcript.id)
    )
    return len(rows)


async def count_of_room(room_id: str) -> int:
    return await Transcript.count().where(Transcript.room_id == room_id)


async def list_recent(limit: int = 50, user_id: str | None = None) -> list[TranscriptView]:
    query = (
        Transcript.select(*_VIEW_COLUMNS)
        .order_by(Transcript.created_at, ascending=False)
        .limit(limit)
        .output(load_json=True)
        .where(Transcript.deleted_at.is_null())
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


async def speakers_and_topics(transcript_id: str) -> tuple[list[ParticipantView], list[SpokenTopic]]:
    """The transcript's participants (by speaker) and its topics with their words, in one query: a row per
    topic, each carrying the participants as JSON (one row of nulls without topics). The topics' times
    stay binary floats; the words are decoded straight from their JSON into Structs."""
    rows = await Transcript.raw(
        f"""
        SELECT people.participants, topic.title, topic.summary, topic.timestamp, topic.duration, topic.words
          FROM (SELECT coalesce(json_agg(json_build_object({_PARTICIPANT_JSON}) ORDER BY speaker), '[]')
                       AS participants
                  FROM participant WHERE transcript_id = {{}}) AS people
          LEFT JOIN topic ON topic.transcript_id = {{}}
         ORDER BY topic.position
        """,
        transcript_id,
        transcript_id,
    )
    topics = [
        SpokenTopic(
            title=row["title"],
            summary=row["summary"],
            start=row["timestamp"],
            end=row["timestamp"] + row["duration"],
            words=_WORDS.decode(row["words"]),
        )
        for row in rows
        if row["title"] is not None
    ]
    return _PARTICIPANTS.decode(rows[0]["participants"]), topics


async def participants_of(transcript_id: str) -> list[ParticipantView]:
    rows = (
        await Participant.select(
            Participant.id, Participant.speaker, Participant.name, Participant.user_id, Participant.evidence
        )
        .where(Participant.transcript_id == transcript_id)
        .order_by(Participant.speaker)
        .output(load_json=True)
    )
    return [msgspec.convert(row, ParticipantView) for row in rows]


async def append_event(transcript_id: str, event: str, data: dict[str, Any]) -> int:
    """Log an event; its row id, which orders the log."""
    rows = await TranscriptEvent.insert(TranscriptEvent(transcript_id=transcript_id, event=event, data=data)).returning(
        TranscriptEvent.id
    )
    return rows[0]["id"]


async def events_of(transcript_id: str) -> list[TranscriptEventMessage]:
    rows = (
        await TranscriptEvent.select(TranscriptEvent.id, TranscriptEvent.event, TranscriptEvent.data)
        .where(TranscriptEvent.transcript_id == transcript_id)
        .order_by(TranscriptEvent.id)
        .output(load_json=True)
    )
    return [TranscriptEventMessage(event=row["event"], data=row["data"], id=row["id"]) for row in rows]


async def clear_events(transcript_id: str, event: str | None = None, *, keep: tuple[str, ...] = ()) -> None:
    """Drop the transcript's stored events, or those of one kind; never those of the kinds in `keep`."""
    query = TranscriptEvent.delete().where(TranscriptEvent.transcript_id == transcript_id)
    if event is not None:
        query = query.where(TranscriptEvent.event == event)
    if keep:
        query = query.where(TranscriptEvent.event.not_in(list(keep)))
    await query


async def page(
    *,
    offset: int,
    limit: int,
    source_kind: str | None = None,
    room_id: str | None = None,
    title_contains: str | None = None,
    change_seq_from: int | None = None,
    by_change_seq: bool = False,
    listing: Listing,
) -> tuple[list[ListedTranscript], int]:
    """One page of the transcripts `listing` allows and the count of all that match, in one query.

    The page is found by its ids first (an index-only scan of `transcript_listing` or
    `transcript_owner_listing` when no other filter applies), then only its rows are read: an OFFSET
    that skips thousands of transcripts skips index entries, not their wide rows.
    """
    conditions, args = ["deleted_at IS NULL"], []
    if listing.public_only:
        conditions.append("share_mode = 'public'")
    elif not listing.everything:
        conditions.append("user_id = {}")
        args.append(listing.owner_id)
    for sql, value in (
        ("source_kind = {}", source_kind or None),
        ("room_id = {}", room_id or None),
        ("title ILIKE {}", f"%{_escape_like(title_contains)}%" if title_contains else None),
        ("change_seq > {}", change_seq_from),
    ):
        if value is not None:
            conditions.append(sql)
            args.append(value)
    where = " AND ".join(conditions)
    # The page's subquery reads only its sort keys, which the listing indexes hold.
    if by_change_seq:
        keys, order, page_order = "id, change_seq", "change_seq", "page.change_seq"
    else:
        keys, order, page_order = "id, created_at", "created_at DESC, id", "page.created_at DESC, page.id"
    rows = await Transcript.raw(
        f"""
        WITH page AS (
            SELECT {keys} FROM transcript WHERE {where} ORDER BY {order} LIMIT {{}} OFFSET {{}}
        )
        SELECT {_LISTED_SQL}, (SELECT count(*) FROM transcript WHERE {where}) AS total
          FROM page JOIN transcript t ON t.id = page.id
         ORDER BY {page_order}
        """,
        *args,
        limit,
        offset,
        *args,
    )
    total = await _total(rows, offset, f"SELECT count(*) AS n FROM transcript WHERE {where}", args)
    return msgspec.convert(rows, list[ListedTranscript]), total


async def _total(rows: list[dict[str, Any]], offset: int, count_sql: str, args: Sequence[Any]) -> int:
    """The count a page's rows carry; past the last page no row carries it, so it is counted on its own."""
    if rows:
        return rows[0]["total"]
    if offset == 0:
        return 0
    return (await Transcript.raw(count_sql, *args))[0]["n"]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def topic_words(transcript_id: str) -> list[tuple[str, list[dict[str, Any]]]]:
    rows = (
        await Topic.select(Topic.id, Topic.words)
        .where(Topic.transcript_id == transcript_id)
        .order_by(Topic.position)
        .output(load_json=True)
    )
    return [(row["id"], row["words"]) for row in rows]


async def set_topic_words(changes: dict[str, list[dict[str, Any]]]) -> None:
    async with Topic._meta.db.transaction():
        for topic_id, words in changes.items():
            await Topic.update({Topic.words: words}).where(Topic.id == topic_id)


async def insert_participant(transcript_id: str, values: dict[str, Any]) -> ParticipantView:
    row = Participant(transcript_id=transcript_id, **values)
    await row.save()
    return ParticipantView(id=row.id, speaker=row.speaker, name=row.name, user_id=row.user_id, evidence=row.evidence)


async def update_participant(participant_id: str, values: dict[str, Any]) -> None:
    await Participant.update({getattr(Participant, k): v for k, v in values.items()}).where(
        Participant.id == participant_id
    )


async def delete_participant(participant_id: str) -> None:
    await Participant.delete().where(Participant.id == participant_id)


async def replace_participants(transcript_id: str, participants: list[dict[str, Any]]) -> None:
    rows = [Participant(transcript_id=transcript_id, **p) for p in participants]
    async with Participant._meta.db.transaction():
        await Participant.delete().where(Participant.transcript_id == transcript_id)
        if rows:
            await Participant.insert(*rows)


class SearchFilters(msgspec.Struct, frozen=True):
    listing: Listing
    room_id: str | None = None
    source_kind: str | None = None
    status: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class SearchRow(msgspec.Struct, frozen=True):
    id: str
    title: str
    name: str
    user_id: str | None
    room_id: str | None
    source_kind: str
    created_at: datetime
    status: str
    duration: float
    change_seq: int
    rank: float
    long_summary: str
    text: str


def _search_from(terms: str, filters: SearchFilters) -> tuple[str, list[Any]]:
    """FROM and WHERE of a search, with their arguments in placeholder order."""
    conditions, args = ["deleted_at IS NULL"], []
    source = "transcript"
    if terms:
        source = "transcript, websearch_to_tsquery('english', {}) AS query"
        conditions.append("search_vector_en @@ query")
        args.append(terms)
    # Placeholders fill in text order: the query's in FROM above comes first, then these.
    if filters.listing.public_only:
        conditions.append("share_mode = 'public'")
    elif not filters.listing.everything:
        conditions.append("user_id = {}")
        args.append(filters.listing.owner_id)
    for sql, value in (
        ("room_id = {}", filters.room_id),
        ("source_kind = {}", filters.source_kind),
        ("status = {}", filters.status),
        ("created_at >= {}", filters.created_from),
        ("created_at <= {}", filters.created_to),
    ):
        if value is not None:
            conditions.append(sql)
            args.append(value)
    return f"{source} WHERE {' AND '.join(conditions)}", args


async def search_page(
    terms: str, filters: SearchFilters, *, offset: int, limit: int
) -> tuple[list[SearchRow], int, list[str]]:
    """Matches of a websearch query, best rank first (newest first without one), their count, and the
    query's stemmed words as the search vector holds them (stop words dropped; none past the last page).

    Ranking and counting read only the search vectors; texts are fetched for this page alone, and
    only with a query (for its snippets).
    """
    source, args = _search_from(terms, filters)
    # Normalization 32 maps the rank into 0..1 (rank / (rank + 1)), as Reflector's.
    rank = "ts_rank(search_vector_en, query, 32)" if terms else "0.0::float"
    texts = "t.long_summary, t.text" if terms else "'' AS long_summary, '' AS text"
    rows = await Transcript.raw(
        f"""
        WITH ranked AS (
            SELECT id, {rank} AS rank, count(*) OVER () AS total
              FROM {source}
             ORDER BY rank DESC, created_at DESC, id
             LIMIT {{}} OFFSET {{}}
        )
        SELECT t.id, t.title, t.name, t.user_id, t.room_id, t.source_kind, t.created_at, t.status, t.duration,
               t.change_seq, ranked.rank, ranked.total, {texts},
               tsvector_to_array(to_tsvector('english', {{}}::text)) AS lexemes
          FROM ranked JOIN transcript t ON t.id = ranked.id
         ORDER BY ranked.rank DESC, t.created_at DESC, t.id
        """,
        *args,
        limit,
        offset,
        terms,
    )
    total = await _total(rows, offset, f"SELECT count(*) AS n FROM {source}", args)
    lexemes = list(rows[0]["lexemes"]) if rows else []
    return [msgspec.convert(row, SearchRow) for row in rows], total, lexemes


async def stems_of(words: list[str]) -> dict[str, list[str]]:
    """Each word's lexemes under the same English configuration as the search vector."""
    if not words:
        return {}
    rows = await Transcript.raw(
        "SELECT w AS word, tsvector_to_array(to_tsvector('english', w)) AS lexemes FROM unnest({}::text[]) AS w",
        words,
    )
    return {row["word"]: list(row["lexemes"]) for row in rows}
