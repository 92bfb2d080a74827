"""SQL for the Zulip module (piccolo). Returns Structs, takes plain values."""

import msgspec

from reflector.domain.ids import new_id, now
from reflector.domain.zulip.models import ZulipPostView
from reflector.domain.zulip.tables import ZulipPost

_COLUMNS = [getattr(ZulipPost, name) for name in ZulipPostView.__struct_fields__]


async def find(transcript_id: str, stream: str, topic: str) -> ZulipPostView | None:
    row = (
        await ZulipPost.select(*_COLUMNS)
        .where((ZulipPost.transcript_id == transcript_id) & (ZulipPost.stream == stream) & (ZulipPost.topic == topic))
        .first()
    )
    return msgspec.convert(row, ZulipPostView) if row else None


async def of_transcript(transcript_id: str) -> list[ZulipPostView]:
    rows = (
        await ZulipPost.select(*_COLUMNS).where(ZulipPost.transcript_id == transcript_id).order_by(ZulipPost.posted_at)
    )
    return [msgspec.convert(row, ZulipPostView) for row in rows]


async def remember(transcript_id: str, stream: str, topic: str, message_id: int, include_topics: bool) -> ZulipPostView:
    """The message now posted for (transcript, stream, topic): a new row, or the old one pointing at it."""
    await ZulipPost.raw(
        """
        INSERT INTO zulip_post (id, transcript_id, stream, topic, message_id, include_topics, posted_at, updated_at)
        VALUES ({}, {}, {}, {}, {}, {}, {}, {})
        ON CONFLICT (transcript_id, stream, topic)
        DO UPDATE SET message_id = EXCLUDED.message_id, include_topics = EXCLUDED.include_topics,
                      posted_at = EXCLUDED.posted_at, updated_at = EXCLUDED.updated_at
        """,
        new_id(),
        transcript_id,
        stream,
        topic,
        message_id,
        include_topics,
        now(),
        now(),
    )
    post = await find(transcript_id, stream, topic)
    assert post is not None
    return post


async def edited(post_id: str, include_topics: bool) -> None:
    await ZulipPost.update({ZulipPost.include_topics: include_topics, ZulipPost.updated_at: now()}).where(
        ZulipPost.id == post_id
    )
