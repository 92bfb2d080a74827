"""Rooms' outbound webhooks delivered by a real ARQ worker (`reflector worker --queues webhooks`) to a
receiver on 127.0.0.1 that checks both signature schemes (Standard Webhooks' with its reference library).
The worker runs with a short retry schedule (0.3 s) and a 1 s timeout, and private targets allowed (the
receiver is on loopback); the refusal of loopback by default is checked in the test process."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from reflector.bootstrap import Services, wire
from reflector.domain.ids import now
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.models import MeetingView, RoomChanges, RoomSettings, RoomView
from reflector.domain.transcripts.models import NewTranscript, TranscriptChanges
from reflector.domain.webhooks import repository as webhooks_table
from reflector.pipelines.meeting import PipelineOptions
from reflector.settings import Settings, WebhookSettings
from tests.integration.webhook_receiver import Receiver, Step
from tests.integration.workers import WorkerProcess, wait_for_status
from tests.paths import REAL
from tests.platforms.fake_server import Served

WORKER_ENV = {
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    "WEBHOOK_RETRY_SCHEDULE": "0.3,0.3,0.3",
    "WEBHOOK_TIMEOUT_S": "1",
}
ATTEMPTS = 4  # the first and three retries
OWNER = "owner-1"


@dataclass
class World:
    services: Services
    receiver: Receiver
    room: RoomView
    meeting: MeetingView


@pytest.fixture(scope="module")
async def worker(
    settings: Settings, services: Services, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WorkerProcess]:
    process = WorkerProcess(settings, tmp_path_factory.mktemp("webhooks") / "worker.log", "webhooks", env=WORKER_ENV)
    process.start()
    await process.serving(services, "reflector:webhooks")
    yield process
    process.stop()


@pytest.fixture
async def world(clean: Services, worker: WorkerProcess) -> AsyncIterator[World]:
    receiver = Receiver(secret="")
    served = Served(receiver).start()
    try:
        settings = RoomSettings(name="Design Review", platform="daily", webhook_url=receiver.url)
        room = await clean.rooms.create(OWNER, settings)
        assert room.webhook_secret is not None and room.webhook_secret.startswith("whsec_")
        receiver.secret = room.webhook_secret
        meeting = await rooms_table.insert_meeting(
            {
                "room_id": room.id,
                "room_name": "design-review-20261206",
                "end_date": now() + timedelta(hours=1),
                "calendar_event_id": "cal-1",
                "calendar_metadata": {
                    "ics_uid": "uid-1@example.org",
                    "title": "Design review",
                    "start_time": "2026-12-06T10:00:00Z",
                    "end_time": "2026-12-06T11:00:00Z",
                    "attendees": [{"email": "ana@example.org", "name": "Ana", "status": "ACCEPTED"}],
                },
            }
        )
        yield World(clean, receiver, room, meeting)
    finally:
        served.stop()


async def finished_transcript(world: World) -> str:
    """A meeting of the room transcribed, with speakers and a topic, as a run leaves it."""
    transcripts = world.services.transcripts
    t = await transcripts.create(
        NewTranscript(name="Design review", source_kind="room", room_id=world.room.id, meeting_id=world.meeting.id)
    )
    words = [
        {"text": "Ship", "start": 0.5, "end": 0.9, "speaker": 0},
        {"text": "it.", "start": 0.9, "end": 1.2, "speaker": 0},
        {"text": "Agreed.", "start": 2.0, "end": 2.6, "speaker": 1},
    ]
    await transcripts.replace_topics(
        t.id,
        [{"title": "Release", "summary": "They agree to ship.", "timestamp": 0.5, "duration": 2.1, "words": words}],
    )
    await transcripts.name_speakers(t.id, {0: "Ana", 1: "Bo"})
    await transcripts.update(t.id, TranscriptChanges(title="Ship it", short_summary="Shipping.", duration=2600))
    return t.id


async def end_run(services: Services, transcript_id: str, *, ok: bool = True) -> None:
    """The end of processing, as the worker's job ends it."""
    run = await services.runs.lifecycle.create(transcript_id, PipelineOptions())
    if ok:
        await services.runs.lifecycle.succeeded(run)
    else:
        await services.runs.lifecycle.failed(run, "The recording has no audio track.")


async def settled(services: Services, room_id: str, within_s: float = 20.0) -> list:
    """The room's deliveries once none is pending any more."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        found, _ = await services.webhooks.deliveries(room_id)
        if found and all(d.delivery.status != "pending" for d in found):
            return found
        assert asyncio.get_running_loop().time() < deadline, found
        await asyncio.sleep(0.1)


async def test_a_finished_meeting_arrives_once_under_one_id_through_503_503_200(world: World) -> None:
    world.receiver.answer_with(Step(503), Step(503))
    transcript_id = await finished_transcript(world)

    await end_run(world.services, transcript_id)

    received = await world.receiver.wait_for(3)
    [delivery] = await settled(world.services, world.room.id)
    await asyncio.sleep(1.0)  # nothing more comes once it is delivered
    assert len(world.receiver.received) == 3
    assert all(r.reflector_ok and r.standard_ok for r in received)
    assert {r.webhook_id for r in received} == {delivery.delivery.id}
    assert len({r.request.body for r in received}) == 1  # the same bytes every time
    assert [r.request.headers["x-webhook-retry"] for r in received] == ["0", "1", "2"]
    assert {r.request.headers["x-webhook-event"] for r in received} == {"transcript.completed"}
    body = received[0].json()
    assert body["event"] == "transcript.completed" and body["event_id"] == delivery.delivery.id
    assert body["room"] == {"id": world.room.id, "name": "design-review"}
    transcript = body["transcript"]
    assert transcript["id"] == transcript_id and transcript["title"] == "Ship it"
    assert [(p["name"], p["speaker"]) for p in transcript["participants"]] == [("Ana", 0), ("Bo", 1)]
    assert "<v Ana>Ship it." in transcript["webvtt"] and "<v Bo>Agreed." in transcript["webvtt"]
    [topic] = transcript["topics"]
    assert topic["title"] == "Release" and "<v Bo>Agreed." in topic["webvtt"]
    assert transcript["frontend_url"].endswith(f"/transcripts/{transcript_id}")
    attendees = body["calendar_event"]["attendees"]
    assert attendees == [{"email": "ana@example.org", "name": "Ana", "status": "ACCEPTED"}]
    log = [(a.attempt, a.status_code, a.outcome) for a in delivery.attempts]
    assert log == [(1, 503, "retry"), (2, 503, "retry"), (3, 200, "success")]
    assert delivery.delivery.status == "succeeded" and all(a.latency_ms >= 0 for a in delivery.attempts)


async def test_a_failed_run_sends_transcript_failed(world: World) -> None:
    transcript_id = await finished_transcript(world)
    await end_run(world.services, transcript_id, ok=False)
    [received] = await world.receiver.wait_for(1)
    body = received.json()
    assert body["event"] == "transcript.failed" and body["transcript"]["error"] == "The recording has no audio track."
    assert received.reflector_ok and received.standard_ok


async def test_410_disables_the_rooms_endpoint_until_its_owner_sets_it_again(world: World) -> None:
    world.receiver.answer_with(Step(410))
    await world.services.webhooks.meeting_started(world.room, world.meeting)
    [delivery] = await settled(world.services, world.room.id)
    assert [(a.status_code, a.outcome) for a in delivery.attempts] == [(410, "disabled")]
    room = await world.services.rooms.get(world.room.id)
    assert room.webhook_disabled_at is not None and "410" in room.webhook_disabled_reason
    await world.services.webhooks.meeting_ended(room, world.meeting)
    await asyncio.sleep(0.5)
    assert len(world.receiver.received) == 1  # nothing more was sent, nor queued
    assert len((await world.services.webhooks.deliveries(room.id))[0]) == 1

    again = await world.services.rooms.update(room.id, RoomChanges(webhook_url=world.receiver.url))
    assert again.webhook_disabled_at is None
    await world.services.webhooks.meeting_ended(again, world.meeting)
    assert (await world.receiver.wait_for(2))[1].json()["event"] == "meeting.ended"


async def test_429_waits_for_retry_after(world: World) -> None:
    world.receiver.answer_with(Step(429, {"Retry-After": "2"}))
    await world.services.webhooks.meeting_started(world.room, world.meeting)
    first, second = await world.receiver.wait_for(2)
    assert second.at - first.at >= 2.0  # not the schedule's 0.3 s
    assert first.webhook_id == second.webhook_id


async def test_a_redirect_is_a_failure_and_is_never_followed(world: World) -> None:
    elsewhere = Receiver(secret=world.receiver.secret)
    served = Served(elsewhere).start()
    try:
        world.receiver.answer_with(*[Step(301, {"Location": elsewhere.url})] * ATTEMPTS)
        await world.services.webhooks.meeting_started(world.room, world.meeting)
        [delivery] = await settled(world.services, world.room.id)
    finally:
        served.stop()
    assert elsewhere.received == []
    assert [(a.status_code, a.outcome) for a in delivery.attempts] == [(301, "retry")] * 3 + [(301, "failed")]
    assert delivery.delivery.status == "failed"


async def test_a_receiver_that_hangs_times_out_and_is_retried(world: World) -> None:
    world.receiver.answer_with(Step(hang_s=3))
    await world.services.webhooks.meeting_started(world.room, world.meeting)
    [delivery] = await settled(world.services, world.room.id)
    first, second = delivery.attempts
    assert first.status_code is None and first.outcome == "retry" and "within 1 s" in first.error
    assert 900 <= first.latency_ms < 2500
    assert (second.status_code, second.outcome) == (200, "success")


async def test_redelivery_arrives_under_the_same_id(world: World) -> None:
    await world.services.webhooks.meeting_started(world.room, world.meeting)
    [delivery] = await settled(world.services, world.room.id)

    await world.services.webhooks.redeliver(world.room.id, delivery.delivery.id)

    first, again = await world.receiver.wait_for(2)
    assert again.webhook_id == first.webhook_id == delivery.delivery.id
    assert again.request.body == first.request.body and again.reflector_ok and again.standard_ok
    assert again.request.headers["x-webhook-retry"] == "1"
    [redelivered] = await settled(world.services, world.room.id)
    assert [a.outcome for a in redelivered.attempts] == ["success", "success"]


async def test_a_loopback_target_is_refused_by_default_and_allowed_by_the_setting(
    world: World, settings: Settings
) -> None:
    def services_with(webhooks: WebhookSettings) -> Services:
        s = world.services
        return wire(replace_settings(settings, webhooks), s.redis, s.bus, s.storage, s.queue)

    refused = await services_with(WebhookSettings()).webhooks.send_test(world.room)
    assert not refused.success and refused.status_code is None
    assert "127.0.0.1" in (refused.error or "") and "loopback" in (refused.error or "")
    assert world.receiver.received == []

    allowed = await services_with(WebhookSettings(allow_private_targets=True)).webhooks.send_test(world.room)
    assert allowed.success and allowed.status_code == 200 and allowed.response_preview
    assert len(allowed.response_preview) <= 1024
    [received] = world.receiver.received
    assert received.json()["event"] == "test" and received.reflector_ok and received.standard_ok
    found, _ = await world.services.webhooks.deliveries(world.room.id)
    assert sorted(a.outcome for d in found for a in d.attempts) == ["refused", "success"]


def replace_settings(settings: Settings, webhooks: WebhookSettings) -> Settings:
    return msgspec.structs.replace(settings, webhooks=webhooks)


@pytest.mark.slow
async def test_a_room_recording_processed_by_a_worker_is_announced_by_that_worker(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    """The whole way: a worker runs the pipeline on a room's transcript (tiny.en on JFK's 11 s), its own run
    lifecycle tells the webhooks module, and the delivery worker sends transcript.completed."""
    transcripts = world.services.transcripts
    t = await transcripts.create(
        NewTranscript(name="jfk", source_kind="room", room_id=world.room.id, meeting_id=world.meeting.id)
    )
    await transcripts.store_upload(t.id, REAL / "jfk.flac")
    speech = WorkerProcess(settings, tmp_path / "speech.log", "speech,llm").start()
    try:
        await world.services.runs.request(t.id, PipelineOptions(diarize=False, summarize=False))
        assert (await wait_for_status(world.services, t.id, within_s=300)).status == "ended", speech.log()[-3000:]
        [received] = await world.receiver.wait_for(1, within_s=30)
    finally:
        speech.stop()
    body = received.json()
    assert body["event"] == "transcript.completed" and body["transcript"]["id"] == t.id
    assert "country" in body["transcript"]["webvtt"].lower() and received.reflector_ok and received.standard_ok


async def test_the_secret_is_never_logged(world: World, worker: WorkerProcess) -> None:
    world.receiver.answer_with(Step(503))
    await world.services.webhooks.meeting_started(world.room, world.meeting)
    [delivery] = await settled(world.services, world.room.id)
    log = worker.log()
    assert delivery.delivery.id in log and "webhook.attempted" in log  # the attempts were logged...
    assert world.receiver.secret not in log  # ...without the secret
    assert world.receiver.secret.removeprefix("whsec_") not in log


async def test_a_delivery_whose_job_was_lost_is_sent_by_the_workers_sweep(world: World) -> None:
    # As if Redis lost the first attempt's job (or was away when it was queued): only the row exists.
    body = b'{"event":"test","event_id":"lost-1"}'
    await webhooks_table.insert_delivery("lost-1", world.room.id, "test", body, world.receiver.url)
    await webhooks_table.update_delivery("lost-1", {"next_attempt_at": now() - timedelta(minutes=5)})

    [received] = await world.receiver.wait_for(1, within_s=20)  # the sweep runs every 2 s in this worker

    assert received.webhook_id == "lost-1" and received.request.body == body and received.standard_ok
    [delivery] = await settled(world.services, world.room.id)
    assert delivery.delivery.status == "succeeded"


async def test_a_hanging_receiver_does_not_hold_up_another_rooms_events(world: World) -> None:
    other = Receiver(secret="")
    served = Served(other).start()
    try:
        room = await world.services.rooms.create(
            OWNER, RoomSettings(name="Other", platform="daily", webhook_url=other.url)
        )
        world.receiver.answer_with(Step(hang_s=3))
        await world.services.webhooks.meeting_started(world.room, world.meeting)
        await world.receiver.wait_for(1)  # the first room's attempt is under way, waiting on its receiver
        sent = asyncio.get_running_loop().time()
        await world.services.webhooks.meeting_started(room, world.meeting)
        await other.wait_for(1, within_s=5)
        # Delivered while the other attempt still waits (it times out after 1 s), not after it.
        assert asyncio.get_running_loop().time() - sent < 0.9
    finally:
        served.stop()
