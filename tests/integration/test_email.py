"""Transcripts by e-mail, sent by a real ARQ worker (`reflector worker --queues webhooks`) to a real SMTP
server on 127.0.0.1 (aiosmtpd). The worker retries after 0.3 s; the run's end is told in the test process,
whose services are wired with the same SMTP settings (the worker's job is what sends)."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import httpx
import msgspec
import pytest

from reflector.bootstrap import Services, wire
from reflector.domain.auth import repository as users_table
from reflector.domain.auth.models import ANONYMOUS
from reflector.domain.emails import models as email_models
from reflector.domain.emails.models import MeetingOver, TooManyRecipients
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.models import MeetingView, RoomView
from reflector.domain.transcripts.models import NewTranscript, TranscriptChanges
from reflector.pipelines.meeting import PipelineOptions
from reflector.settings import EmailSettings, Settings
from reflector.web.app import create_app
from tests.integration.workers import WorkerProcess
from tests.meeting_platform import room_with_meeting
from tests.smtp import Inbox, smtp_server

OWNER_SUB = "owner-sub"
TEAM = "team@example.org"


@dataclass
class World:
    services: Services
    inbox: Inbox
    room: RoomView
    meeting: MeetingView
    owner_id: str


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as served:
        yield served


def email_settings(port: int) -> EmailSettings:
    return EmailSettings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none", smtp_from="Reflector <reflector@example.org>",
        retry_schedule="0.3,0.3",
    )  # fmt: skip


@pytest.fixture(scope="module")
async def worker(
    settings: Settings, services: Services, smtp: tuple[Inbox, int], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WorkerProcess]:
    env = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp[1]),
        "SMTP_TLS": "none",
        "SMTP_FROM": "Reflector <reflector@example.org>",
        "EMAIL_RETRY_SCHEDULE": "0.3,0.3",
    }
    process = WorkerProcess(settings, tmp_path_factory.mktemp("email") / "worker.log", "webhooks", env=env)
    process.start()
    await process.serving(services, "reflector:webhooks")
    yield process
    process.stop()


@pytest.fixture
async def world(
    clean: Services, settings: Settings, smtp: tuple[Inbox, int], worker: WorkerProcess
) -> AsyncIterator[World]:
    inbox, port = smtp
    inbox.messages.clear()
    inbox.envelopes.clear()
    inbox.refused.clear()
    s = clean
    emailing = wire(msgspec.structs.replace(settings, email=email_settings(port)), s.redis, s.bus, s.storage, s.queue)
    owner = await users_table.upsert_identity(OWNER_SUB, "Owner@Example.org", "Olga Owner")
    room, meeting = await room_with_meeting(emailing, owner.id, "design-review")
    yield World(emailing, inbox, room, meeting, owner.id)


async def finished_transcript(world: World) -> str:
    """The room's meeting transcribed, private to its owner, as a run leaves it (the run not ended yet)."""
    transcripts = world.services.transcripts
    t = await transcripts.create(
        NewTranscript(
            name="Design review", source_kind="room", user_id=world.owner_id, room_id=world.room.id,
            meeting_id=world.meeting.id,
        )
    )  # fmt: skip
    words = [
        {"text": "Ship", "start": 0.5, "end": 0.9, "speaker": 0},
        {"text": "it.", "start": 0.9, "end": 1.2, "speaker": 0},
        {"text": "Agreed.", "start": 2.0, "end": 2.6, "speaker": 1},
    ]
    topic = {"title": "Release", "summary": "They agree to ship.", "timestamp": 0.5, "duration": 2.1, "words": words}
    await transcripts.replace_topics(t.id, [topic])
    await transcripts.name_speakers(t.id, {0: "Ana", 1: "Bo"})
    changes = TranscriptChanges(title="Ship it <now>", short_summary="Ana wants to ship; Bo agrees.", duration=2600)
    await transcripts.update(t.id, changes)
    await transcripts.update(t.id, TranscriptChanges(share_mode="private"))
    return t.id


async def end_run(services: Services, transcript_id: str, *, ok: bool = True) -> None:
    """The end of processing, as the worker's job ends it."""
    run = await services.runs.lifecycle.create(transcript_id, PipelineOptions())
    if ok:
        await services.runs.lifecycle.succeeded(run)
    else:
        await services.runs.lifecycle.failed(run, "The recording has no audio track.")


def parts(message: EmailMessage) -> tuple[str, str, list[EmailMessage]]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None, "a text and an HTML part"
    return text.get_content(), html.get_content(), list(message.iter_attachments())


async def nothing_more(inbox: Inbox, count: int) -> None:
    await asyncio.sleep(1.5)  # three retry delays: a second message would be here by now
    assert len(inbox.messages) == count


async def set_room_address(world: World, address: str | None) -> None:
    await rooms_table.update_room(world.room.id, {"email_transcript_to": address})


async def test_a_room_transcript_is_sent_once_with_html_text_and_the_transcript_attached(world: World) -> None:
    await set_room_address(world, TEAM)
    transcript_id = await finished_transcript(world)

    await end_run(world.services, transcript_id)

    [message] = world.inbox.wait_for(1)
    await nothing_more(world.inbox, 1)
    assert message["To"] == TEAM and message["Subject"] == "Transcript: Ship it <now>"
    text, html, attachments = parts(message)
    link = f"{world.services.settings.server.base_url}/transcripts/{transcript_id}"
    assert "Ship it <now>" in text and "Ana wants to ship; Bo agrees." in text and link in text
    assert "Ship it &lt;now&gt;" in html and f'href="{link}"' in html  # the title escaped, never markup
    [attached] = attachments
    assert attached.get_filename() == "ship-it-now.md" and attached.get_content_type() == "text/markdown"
    body = attached.get_content()
    assert "Ship it." in body and "Agreed." in body and "Ana" in body and "Bo" in body
    # Nothing changed on the transcript to send it.
    assert (await world.services.transcripts.get(transcript_id)).share_mode == "private"


async def test_a_temporary_refusal_451_is_retried_and_then_delivered(world: World) -> None:
    await set_room_address(world, TEAM)
    world.inbox.refuse_next("451 4.7.1 Greylisted, try again later")
    transcript_id = await finished_transcript(world)

    await end_run(world.services, transcript_id)

    [message] = world.inbox.wait_for(1)
    await nothing_more(world.inbox, 1)
    assert world.inbox.refused == ["451 4.7.1 Greylisted, try again later"]
    assert message["To"] == TEAM and parts(message)[2]


async def test_a_permanent_refusal_550_is_not_retried(world: World) -> None:
    await set_room_address(world, TEAM)
    world.inbox.refuse_next("550 5.1.1 No such mailbox")
    await end_run(world.services, await finished_transcript(world))

    await nothing_more(world.inbox, 0)
    assert world.inbox.refused == ["550 5.1.1 No such mailbox"]


async def test_the_rooms_address_asked_for_again_by_a_participant_gets_one_message(world: World) -> None:
    await set_room_address(world, TEAM)
    await world.services.emails.request(world.meeting.id, TEAM.upper(), ANONYMOUS)
    await end_run(world.services, await finished_transcript(world))

    [message] = world.inbox.wait_for(1)
    await nothing_more(world.inbox, 1)
    assert message["To"] == TEAM and len(parts(message)[2]) == 1


async def test_a_failed_run_and_a_room_without_address_send_nothing(world: World) -> None:
    failed = await finished_transcript(world)
    await set_room_address(world, TEAM)
    await end_run(world.services, failed, ok=False)
    await set_room_address(world, None)
    await end_run(world.services, await finished_transcript(world))
    await nothing_more(world.inbox, 0)


async def test_a_participant_who_may_not_read_it_gets_a_link_only_and_the_share_mode_stays(world: World) -> None:
    emails = world.services.emails
    await emails.request(world.meeting.id, "stranger@example.org", ANONYMOUS)
    await emails.request(world.meeting.id, "owner@example.ORG", ANONYMOUS)  # the owner's own address
    await emails.request(world.meeting.id, "Stranger@Example.org", ANONYMOUS)  # asked twice: sent once
    transcript_id = await finished_transcript(world)

    await end_run(world.services, transcript_id)

    messages = world.inbox.wait_for(2)
    await nothing_more(world.inbox, 2)
    by_address = {m["To"]: m for m in messages}
    assert set(by_address) == {"stranger@example.org", "owner@example.ORG"}
    stranger = by_address["stranger@example.org"]
    text, html, attachments = parts(stranger)
    link = f"{world.services.settings.server.base_url}/transcripts/{transcript_id}"
    assert attachments == [] and link in text and f'href="{link}"' in html and "Sign in" in text
    for private in ("Ship it", "Ana wants", "Agreed", "Release"):
        assert private not in text and private not in html and private not in str(stranger["Subject"])
    assert "design-review" in str(stranger["Subject"])
    # The owner's address reads it: the whole transcript.
    owner_text, _, owner_attachments = parts(by_address["owner@example.ORG"])
    assert "Ana wants to ship; Bo agrees." in owner_text and len(owner_attachments) == 1
    assert (await world.services.transcripts.get(transcript_id)).share_mode == "private"


async def test_a_public_transcript_reaches_any_participant_whole(world: World) -> None:
    await world.services.emails.request(world.meeting.id, "guest@example.net", ANONYMOUS)
    transcript_id = await finished_transcript(world)
    await world.services.transcripts.update(transcript_id, TranscriptChanges(share_mode="public"))

    await end_run(world.services, transcript_id)

    [message] = world.inbox.wait_for(1)
    text, _, attachments = parts(message)
    assert "Ana wants to ship; Bo agrees." in text and len(attachments) == 1
    assert (await world.services.transcripts.get(transcript_id)).share_mode == "public"


async def test_a_participant_asks_through_the_api_and_gets_a_link_only(world: World) -> None:
    app = create_app(world.services.settings, services=world.services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as api:
        path = f"/v1/meetings/{world.meeting.id}/email-recipient"
        asked = await api.post(path, json={"email": "stranger@example.org"})
        not_an_address = await api.post(path, json={"email": "stranger at example.org"})
        injected = await api.post(path, json={"email": "a@example.org\r\nBcc: b@example.org"})
        unknown = "/v1/meetings/00000000-0000-0000-0000-000000000000/email-recipient"
        no_meeting = await api.post(unknown, json={"email": "x@example.org"})
    assert asked.status_code == 200 and asked.json() == {"status": "success"}
    assert not_an_address.status_code == 422 and "name@example.org" in not_an_address.json()["detail"]
    assert injected.status_code == 422
    assert no_meeting.status_code == 404
    transcript_id = await finished_transcript(world)

    await end_run(world.services, transcript_id)

    [message] = world.inbox.wait_for(1)
    await nothing_more(world.inbox, 1)
    text, _, attachments = parts(message)
    assert message["To"] == "stranger@example.org" and attachments == [] and "Sign in" in text
    assert "Ship it" not in text and "Ana wants" not in text
    assert (await world.services.transcripts.get(transcript_id)).share_mode == "private"


async def test_a_server_without_smtp_says_so_and_keeps_nothing(clean: Services, settings: Settings) -> None:
    _, meeting = await room_with_meeting(clean, "owner-2", "no-mail")
    app = create_app(settings, services=clean)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as api:
        answer = await api.post(f"/v1/meetings/{meeting.id}/email-recipient", json={"email": "a@example.org"})
    assert answer.status_code == 409 and "SMTP_HOST" in answer.json()["detail"]


async def test_requests_are_taken_while_the_meeting_is_on_and_up_to_a_limit(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    emails = world.services.emails
    monkeypatch.setattr(email_models, "MAX_REQUESTS_PER_MEETING", 2)
    await emails.request(world.meeting.id, "one@example.org", ANONYMOUS)
    await emails.request(world.meeting.id, "two@example.org", ANONYMOUS)
    await emails.request(world.meeting.id, "ONE@example.org", ANONYMOUS)  # already there: still fine
    with pytest.raises(TooManyRecipients):
        await emails.request(world.meeting.id, "three@example.org", ANONYMOUS)

    await world.services.meetings.end(world.meeting.id)
    with pytest.raises(MeetingOver):
        await emails.request(world.meeting.id, "two@example.org", ANONYMOUS)
