"""transcript.completed as Reflector's receivers read it, built from what is stored: the meeting's calendar
event as the calendar keeps it (attendees as objects, which Reflector's typing drops), the participants with
their speaker numbers, the topics each with its WebVTT; a transcript of no room sends nothing. Real
PostgreSQL and Redis; the delivery is read from the log, not sent."""

from datetime import UTC, datetime, timedelta

import msgspec

from reflector.bootstrap import Services
from reflector.domain.ids import now
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.models import RoomSettings
from reflector.domain.transcripts.models import NewTranscript, TranscriptChanges

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def test_a_meetings_transcript_carries_its_calendar_event_as_the_calendar_keeps_it(clean: Services) -> None:
    room = await clean.rooms.create(
        "owner", RoomSettings(name="Team", platform="daily", webhook_url="https://x.example/h")
    )
    attendees = [
        {"email": "ana@example.org", "name": "Ana", "status": "ACCEPTED", "role": "CHAIR"},
        {"email": "bo@example.org"},
    ]
    values = {
        "ics_uid": "weekly@example.org",
        "recurrence_id": "",
        "title": "Weekly",
        "description": "Agenda",
        "start_time": START,
        "end_time": START + timedelta(hours=1),
        "attendees": attendees,
        "location": "https://reflector.example/team",
        "ics_raw_data": "",
    }
    assert await rooms_table.save_calendar_event(room.id, values, now()) == "created"
    [event] = await clean.calendars.events(room, owner=True)
    meeting = await rooms_table.insert_meeting(
        {"room_id": room.id, "end_date": now() + timedelta(hours=1), "calendar_event_id": event.id}
    )
    t = await clean.transcripts.create(
        NewTranscript(name="Weekly", source_kind="room", room_id=room.id, meeting_id=meeting.id)
    )
    await clean.transcripts.update(t.id, TranscriptChanges(title="Weekly", duration=60_000))
    await clean.transcripts.name_speakers(t.id, {0: "Ana"})

    await clean.webhooks.run_finished(t.id, succeeded=True, error="")

    [delivery], _ = await clean.webhooks.deliveries(room.id)
    body = msgspec.json.decode(await clean.webhooks.body_of(delivery.delivery.id))
    assert set(body) == {"event", "event_id", "timestamp", "transcript", "room", "calendar_event"}
    assert set(body["transcript"]) == {
        "id", "room_id", "created_at", "duration", "title", "short_summary", "long_summary", "webvtt", "topics",
        "participants", "source_language", "target_language", "status", "frontend_url", "action_items",
    }  # fmt: skip
    calendar = body["calendar_event"]
    assert set(calendar) == {"id", "ics_uid", "title", "start_time", "end_time", "description", "location", "attendees"}
    assert (calendar["id"], calendar["ics_uid"], calendar["title"]) == (event.id, "weekly@example.org", "Weekly")
    assert datetime.fromisoformat(calendar["start_time"]) == START
    assert calendar["attendees"] == attendees
    assert [(p["name"], p["speaker"]) for p in body["transcript"]["participants"]] == [("Ana", 0)]
    assert body["transcript"]["duration"] == 60_000


async def test_a_transcript_of_no_room_sends_nothing(clean: Services) -> None:
    t = await clean.transcripts.create(NewTranscript(name="upload"))
    await clean.webhooks.run_finished(t.id, succeeded=True, error="")
    await clean.webhooks.run_finished(t.id, succeeded=False, error="broken")
    assert await clean.webhooks.figures() == (
        {"pending": 0, "succeeded": 0, "failed": 0},
        {"success": 0, "retry": 0, "failed": 0, "disabled": 0, "refused": 0},
    )


async def test_the_log_forgets_deliveries_over_for_longer_than_it_keeps_them(clean: Services) -> None:
    from reflector.domain.webhooks import repository as webhooks_table

    room = await clean.rooms.create(
        "owner", RoomSettings(name="Log", platform="daily", webhook_url="https://x.example/h")
    )
    cases = [("old-done", "succeeded", 31), ("old-failed", "failed", 40), ("recent", "failed", 2),
             ("old-pending", "pending", 31)]  # fmt: skip
    for delivery_id, status, days in cases:
        await webhooks_table.insert_delivery(delivery_id, room.id, "test", b"{}", "https://x.example/h")
        await webhooks_table.record_attempt(
            delivery_id, {"attempt": 1, "endpoint": "https://x.example/h", "outcome": "failed"}
        )
        await webhooks_table.update_delivery(delivery_id, {"status": status, "next_attempt_at": None})
        await webhooks_table.WebhookDelivery.update({"updated_at": now() - timedelta(days=days)}, force=True).where(
            webhooks_table.WebhookDelivery.id == delivery_id
        )

    await clean.webhooks.sweep()

    kept, _ = await clean.webhooks.deliveries(room.id)
    assert sorted(d.delivery.id for d in kept) == ["old-pending", "recent"]  # still due, or recent
    assert all(len(d.attempts) == 1 for d in kept)
