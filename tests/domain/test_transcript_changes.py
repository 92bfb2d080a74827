"""TranscriptService.update with TranscriptChanges, on the real PostgreSQL and Redis: a title is tidied and
never blank, unset fields are left alone, and a change of who may see a transcript is announced."""

import asyncio

import msgspec
import pytest

from reflector.adapters.events import ACCESS_CHANNEL, decode_event
from reflector.bootstrap import Services
from reflector.domain.errors import DomainError
from reflector.domain.transcripts.models import TITLE_MAX, InvalidTitle, NewTranscript, TranscriptChanges
from reflector.domain.transcripts.service import audio_key


async def _new(services: Services) -> str:
    return (await services.transcripts.create(NewTranscript(name="Weekly sync"))).id


async def test_a_title_is_kept_on_one_line_without_stray_spaces(clean: Services) -> None:
    transcript_id = await _new(clean)
    await clean.transcripts.update(transcript_id, TranscriptChanges(title="  Budget\n\n review \t"))
    assert (await clean.transcripts.get(transcript_id)).title == "Budget review"


async def test_a_blank_title_is_refused_with_a_sentence_and_nothing_changes(clean: Services) -> None:
    transcript_id = await _new(clean)
    await clean.transcripts.update(transcript_id, TranscriptChanges(title="Budget review"))
    with pytest.raises(InvalidTitle, match=r"^Give the meeting a title\.$") as refused:
        await clean.transcripts.update(transcript_id, TranscriptChanges(title=" \n ", reviewed=True))
    assert isinstance(refused.value, DomainError) and refused.value.status == 400
    after = await clean.transcripts.get(transcript_id)
    assert (after.title, after.reviewed) == ("Budget review", False)


async def test_a_title_longer_than_the_page_takes_is_refused(clean: Services) -> None:
    transcript_id = await _new(clean)
    longest = "x" * TITLE_MAX
    await clean.transcripts.update(transcript_id, TranscriptChanges(title=f"  {longest}  "))
    with pytest.raises(InvalidTitle, match=rf"at most {TITLE_MAX} characters; this one has {TITLE_MAX + 1}\."):
        await clean.transcripts.update(transcript_id, TranscriptChanges(title=longest + "y"))
    assert (await clean.transcripts.get(transcript_id)).title == longest


async def test_fields_left_unset_are_left_alone(clean: Services) -> None:
    transcript_id = await _new(clean)
    await clean.transcripts.update(transcript_id, TranscriptChanges(title="Budget review", short_summary="Fine."))
    await clean.transcripts.update(transcript_id, TranscriptChanges(reviewed=True, locked=True))
    after = await clean.transcripts.get(transcript_id)
    assert (after.title, after.short_summary, after.reviewed, after.locked) == ("Budget review", "Fine.", True, True)


async def test_sharing_a_transcript_makes_its_sockets_check_their_callers_again(clean: Services) -> None:
    transcript_id = await _new(clean)
    pubsub = clean.redis.pubsub()
    await pubsub.subscribe(ACCESS_CHANNEL)
    try:
        await clean.transcripts.update(transcript_id, TranscriptChanges(share_mode="public"))
        async with asyncio.timeout(5):
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                # Other checkouts may share the Redis server: only this transcript's change counts.
                if message and decode_event(message["data"]).data.get("transcript_id") == transcript_id:
                    break
    finally:
        await pubsub.aclose()
    assert (await clean.transcripts.get(transcript_id)).share_mode == "public"


async def test_deleting_the_audio_through_a_change_deletes_it(clean: Services) -> None:
    transcript_id = await _new(clean)
    await clean.storage.put_bytes(audio_key(transcript_id), b"mp3")
    await clean.transcripts.update(transcript_id, TranscriptChanges(audio_deleted=True))
    assert not await clean.storage.exists(audio_key(transcript_id))
    assert (await clean.transcripts.get(transcript_id)).audio_deleted


def test_changes_decode_with_the_same_rule() -> None:
    with pytest.raises(InvalidTitle):
        msgspec.convert({"title": "  "}, TranscriptChanges)
