"""A room's meetings as its webhook hears of them: meeting.started when one is opened (not when a joiner
is sent into the open one), meeting.ended when it is ended by its owner or closed by the workers' sweep, once;
a room without a webhook logs nothing. Real PostgreSQL and Redis; an in-memory platform; the deliveries are
read from the log (sending them is tests/integration/test_webhooks.py's)."""

from datetime import timedelta

import msgspec

from reflector.bootstrap import Services
from reflector.domain.ids import now
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.models import RoomSettings
from tests.meeting_platform import RecordingPlatform, with_platform


async def events_of(services: Services, room_id: str) -> list[tuple[str, dict]]:
    found, _ = await services.webhooks.deliveries(room_id)
    bodies = []
    for detail in reversed(found):  # oldest first
        body = await services.webhooks.body_of(detail.delivery.id)
        bodies.append((detail.delivery.event_type, msgspec.json.decode(body)))
    return bodies


async def test_a_meeting_opened_and_ended_by_its_owner_is_heard_once_each(clean: Services) -> None:
    services = with_platform(clean, RecordingPlatform())
    room = await services.rooms.create(
        "owner", RoomSettings(name="Ops", platform="daily", webhook_url="https://x.example/h")
    )

    meeting = await services.meetings.meeting_for(room)
    again = await services.meetings.meeting_for(room)  # a second joiner: the same meeting, no new event
    await services.meetings.end(meeting.id)
    await services.meetings.end(meeting.id)  # already ended: nothing more

    heard = await events_of(services, room.id)
    assert [event for event, _ in heard] == ["meeting.started", "meeting.ended"] and again.id == meeting.id
    started, ended = (body for _, body in heard)
    assert started["meeting"]["id"] == ended["meeting"]["id"] == meeting.id
    assert started["meeting"]["is_active"] is True and ended["meeting"]["is_active"] is False
    assert started["room"] == {"id": room.id, "name": "ops"} and started["event_id"] != ended["event_id"]


async def test_a_meeting_the_sweep_closes_has_ended(clean: Services) -> None:
    services = with_platform(clean, RecordingPlatform())
    room = await services.rooms.create(
        "owner", RoomSettings(name="Ops", platform="daily", webhook_url="https://x.example/h")
    )
    meeting = await services.meetings.meeting_for(room)
    # Past its end, and empty for longer than the join grace: the sweep closes it.
    an_hour_ago = now() - timedelta(hours=1)
    await rooms_table.update_meeting(meeting.id, {"end_date": an_hour_ago, "empty_since": an_hour_ago})

    report = await services.meetings.sweep(force=True)

    assert report.closed_ids == [meeting.id]
    assert [event for event, _ in await events_of(services, room.id)] == ["meeting.started", "meeting.ended"]


async def test_a_room_without_a_webhook_logs_nothing(clean: Services) -> None:
    services = with_platform(clean, RecordingPlatform())
    room = await services.rooms.create("owner", RoomSettings(name="Quiet", platform="daily"))
    meeting = await services.meetings.meeting_for(room)
    await services.meetings.end(meeting.id)
    assert await events_of(services, room.id) == []
