"""Transcripts posted to a Zulip server (a local fake speaking Zulip's documented API, checking the bot's
basic auth): automatically when a room that asks for it gets a finished transcript, and on demand through
Reflector's route; a re-share to the same place edits the message, another stream gets a message of its
own, an edit Zulip refuses falls back to a new post, and a person's title edit reaches the message."""

from collections.abc import AsyncIterator

import httpx
import pytest

from reflector.bootstrap import Services
from reflector.domain.rooms.models import RoomSettings
from reflector.domain.transcripts.models import NewTranscript, TranscriptChanges
from reflector.pipelines.meeting import PipelineOptions
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.net import serve
from tests.zulip.conftest import post_queued
from tests.zulip.zulip_fake import FakeZulip

OWNER = "owner-1"


async def finished_transcript(services: Services, room_id: str | None = None) -> str:
    """A transcript as a run leaves it: a title, a summary, a topic, 1 h 2 min 5 s long."""
    transcripts = services.transcripts
    t = await transcripts.create(
        NewTranscript(name="Design review", source_kind="room" if room_id else "file", room_id=room_id)
    )
    words = [{"text": "Ship", "start": 65.0, "end": 65.4, "speaker": 0}]
    await transcripts.replace_topics(
        t.id,
        [{"title": "Release date", "summary": "Ship Thursday.", "timestamp": 65.0, "duration": 30, "words": words}],
    )
    await transcripts.update(
        t.id, TranscriptChanges(title="Ship it", long_summary="They agreed to ship on Thursday.", duration=3725_000)
    )
    return t.id


async def end_run(services: Services, transcript_id: str, *, ok: bool = True) -> None:
    """The end of processing, as the worker's job ends it."""
    run = await services.runs.lifecycle.create(transcript_id, PipelineOptions())
    if ok:
        await services.runs.lifecycle.succeeded(run)
    else:
        await services.runs.lifecycle.failed(run, "The recording has no audio track.")


@pytest.fixture
async def api(posting: Services, zulip_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(zulip_settings, services=posting)) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def test_a_rooms_finished_transcript_is_posted_to_its_stream(
    posting: Services, zulip: FakeZulip, zulip_settings: Settings
) -> None:
    room = await posting.rooms.create(
        OWNER,
        RoomSettings(
            name="Design Review", platform="daily", zulip_auto_post=True, zulip_stream="meetings", zulip_topic="design"
        ),
    )
    quiet = await posting.rooms.create(OWNER, RoomSettings(name="Quiet", platform="daily", zulip_stream="meetings"))
    posted = await finished_transcript(posting, room.id)
    failed = await finished_transcript(posting, room.id)
    unasked = await finished_transcript(posting, quiet.id)

    for tid, ok in ((posted, True), (failed, False), (unasked, True)):
        before = len(zulip.messages)
        await end_run(posting, tid, ok=ok)
        assert len(zulip.messages) == before  # posted by a worker's job, not by the run's end
        await post_queued(posting)

    message, notice = zulip.messages.values()
    assert (message.stream, message.topic) == ("meetings", "design")
    url = f"{zulip_settings.server.base_url.rstrip('/')}/transcripts/{posted}"
    lines = message.content.splitlines()
    assert lines[0] == "# Reflector – Ship it"
    assert lines[2].startswith("**Date**: <time:") and lines[2].endswith(">")
    assert f"({url})" in lines[3] and lines[3].startswith("**Link**: [")
    assert lines[4] == "**Duration**: 1:02:05"
    assert "```spoiler Summary\nThey agreed to ship on Thursday.\n```" in message.content
    assert "```spoiler Topics\n1. [0:01:05] Release date\n```" in message.content
    assert lines[-1] == "-----"
    assert [p.message_id for p in await posting.zulip.posts(posted)] == [message.id]

    # The failed run is told in a notice, which the transcript's message replaces once a retry succeeds.
    assert (notice.stream, notice.topic) == ("meetings", "design")
    assert "**Processing failed**: The recording has no audio track." in notice.content
    await end_run(posting, failed)
    await post_queued(posting)
    assert notice.content.startswith("# Reflector – Ship it\n") and "spoiler Summary" in notice.content
    assert len(zulip.messages) == 2


async def test_sharing_on_demand_edits_the_same_place_and_posts_anew_elsewhere(
    posting: Services, zulip: FakeZulip, api: httpx.AsyncClient
) -> None:
    tid = await finished_transcript(posting)
    query = {"stream": "meetings", "topic": "weekly", "include_topics": "false"}

    first = await api.post(f"/v1/transcripts/{tid}/zulip", params=query)
    assert first.status_code == 200 and first.json() is None
    [message] = zulip.messages.values()
    assert "spoiler Topics" not in message.content

    again = await api.post(f"/v1/transcripts/{tid}/zulip", params={**query, "include_topics": "true"})
    assert again.status_code == 200
    assert list(zulip.messages) == [message.id] and len(message.edits) == 1
    assert "1. [0:01:05] Release date" in message.content

    elsewhere = await api.post(f"/v1/transcripts/{tid}/zulip", params={**query, "stream": "engineering"})
    assert elsewhere.status_code == 200
    assert [(m.stream, m.topic) for m in zulip.messages.values()] == [("meetings", "weekly"), ("engineering", "weekly")]
    assert message.stream == "meetings" and len(message.edits) == 1  # the first message stays where it was


async def test_an_edit_zulip_refuses_falls_back_to_a_new_post(
    posting: Services, zulip: FakeZulip, api: httpx.AsyncClient
) -> None:
    tid = await finished_transcript(posting)
    query = {"stream": "meetings", "topic": "weekly"}
    await api.post(f"/v1/transcripts/{tid}/zulip", params=query)
    zulip.refuse_edits = True  # the organisation's edit window has passed

    again = await api.post(f"/v1/transcripts/{tid}/zulip", params=query)

    assert again.status_code == 200
    old, new = zulip.messages.values()
    assert old.edits == [] and (new.stream, new.topic) == ("meetings", "weekly")
    [post] = await posting.zulip.posts(tid)
    assert post.message_id == new.id  # the next share edits the new message
    zulip.refuse_edits = False
    await api.post(f"/v1/transcripts/{tid}/zulip", params=query)
    assert len(new.edits) == 1 and old.edits == [] and len(zulip.messages) == 2


async def test_a_title_edited_by_a_person_reaches_the_posted_message(
    posting: Services, zulip: FakeZulip, api: httpx.AsyncClient
) -> None:
    tid = await finished_transcript(posting)
    await api.post(f"/v1/transcripts/{tid}/zulip", params={"stream": "meetings", "topic": "weekly"})
    await api.post(f"/v1/transcripts/{tid}/zulip", params={"stream": "general", "topic": "all"})

    renamed = await api.patch(f"/v1/transcripts/{tid}", json={"title": "Ship it on Thursday"})

    assert renamed.status_code == 200
    assert [m.content.splitlines()[0] for m in zulip.messages.values()] == ["# Reflector – Ship it on Thursday"] * 2
    unrelated = await api.patch(f"/v1/transcripts/{tid}", json={"reviewed": True})
    assert unrelated.status_code == 200
    assert [len(m.edits) for m in zulip.messages.values()] == [1, 1]

    # The transcript page's summary form (a plain form post) does the same.
    summary = await api.post(f"/transcripts/{tid}", data={"long_summary": "Shipping moved to Friday."})
    assert summary.status_code in (200, 303)
    assert all("Shipping moved to Friday." in m.content and len(m.edits) == 2 for m in zulip.messages.values())


async def test_what_cannot_be_sent_is_said(
    posting: Services, zulip: FakeZulip, api: httpx.AsyncClient, clean: Services, settings: Settings
) -> None:
    tid = await finished_transcript(posting)
    no_stream = await api.post(f"/v1/transcripts/{tid}/zulip", params={"topic": "weekly"})
    assert no_stream.status_code == 422 and "stream" in no_stream.json()["detail"]
    unknown = await api.post(f"/v1/transcripts/{tid}/zulip", params={"stream": "nowhere"})
    assert unknown.status_code == 502 and "Stream 'nowhere' does not exist" in unknown.json()["detail"]
    assert zulip.messages == {}
    async with serve(create_app(settings, services=clean)) as url, httpx.AsyncClient(base_url=url) as bare:
        unconfigured = await bare.post(f"/v1/transcripts/{tid}/zulip", params={"stream": "meetings"})
    assert unconfigured.status_code == 400 and "ZULIP_URL" in unconfigured.json()["detail"]


async def test_the_streams_and_their_topics_are_listed_for_choosing(
    posting: Services, zulip: FakeZulip, api: httpx.AsyncClient
) -> None:
    tid = await finished_transcript(posting)
    await api.post(f"/v1/transcripts/{tid}/zulip", params={"stream": "meetings", "topic": "weekly"})
    await api.post(f"/v1/transcripts/{tid}/zulip", params={"stream": "meetings", "topic": "retro"})

    streams = await api.get("/v1/zulip/streams")
    assert streams.status_code == 200
    assert {"stream_id": 2, "name": "meetings"} in streams.json() and len(streams.json()) == 3
    topics = await api.get("/v1/zulip/streams/2/topics")
    assert topics.status_code == 200 and topics.json() == [{"name": "retro"}, {"name": "weekly"}]
    unknown = await api.get("/v1/zulip/streams/99/topics")
    assert unknown.status_code == 502 and "Invalid channel ID" in unknown.json()["detail"]
