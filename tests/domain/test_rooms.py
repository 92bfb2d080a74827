"""Rooms and meetings against the real PostgreSQL and Redis: names, webhook secrets, one meeting per room
while it lasts (across concurrent joins), consent, and what deleting a room leaves of its transcripts."""

import asyncio

import msgspec
import pytest

from reflector.bootstrap import Services
from reflector.domain.rooms.models import (
    InvalidRoomName,
    PlatformNotConfigured,
    RoomChanges,
    RoomNameTaken,
    RoomNotFound,
    RoomSettings,
)
from reflector.domain.transcripts import repository as transcripts_table
from reflector.domain.transcripts.models import NewTranscript
from tests.meeting_platform import RecordingPlatform, with_platform


@pytest.fixture
def platform() -> RecordingPlatform:
    return RecordingPlatform()


@pytest.fixture
def services(clean: Services, platform: RecordingPlatform) -> Services:
    return with_platform(clean, platform)


async def test_a_room_is_named_by_its_slug_and_a_name_is_taken_once(services: Services) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="Team Stand-up!", platform="daily"))
    assert room.name == "team-stand-up" and room.user_id == "alice"
    assert (await services.rooms.named("team-stand-up")).id == room.id
    with pytest.raises(RoomNameTaken, match="'team-stand-up' already exists") as taken:
        await services.rooms.create("bob", RoomSettings(name="team stand up", platform="whereby"))
    assert taken.value.status == 409
    other = await services.rooms.create("bob", RoomSettings(name="other", platform="daily"))
    with pytest.raises(RoomNameTaken):
        await services.rooms.update(other.id, RoomChanges(name="Team  Stand up"))


@pytest.mark.parametrize("name", ["!!!", "browse", "Transcripts", "v1"])
async def test_a_name_that_is_no_slug_or_a_page_of_ours_is_refused(services: Services, name: str) -> None:
    with pytest.raises(InvalidRoomName):
        await services.rooms.create("alice", RoomSettings(name=name, platform="daily"))


async def test_a_webhook_without_a_secret_gets_one_and_keeps_it(services: Services) -> None:
    room = await services.rooms.create(
        "alice", RoomSettings(name="hooks", platform="daily", webhook_url="https://hooks.example/in")
    )
    assert room.webhook_secret is not None and room.webhook_secret.startswith("whsec_")
    assert len(room.webhook_secret) > 40
    renamed = await services.rooms.update(room.id, RoomChanges(webhook_url="https://hooks.example/other"))
    assert renamed.webhook_secret == room.webhook_secret
    chosen = await services.rooms.update(room.id, RoomChanges(webhook_secret="mine"))
    assert chosen.webhook_secret == "mine"
    plain = await services.rooms.create("alice", RoomSettings(name="plain", platform="daily"))
    assert plain.webhook_secret is None


async def test_the_rooms_listed_are_ones_own_and_the_shared_ones(services: Services) -> None:
    from reflector.domain.auth.models import Caller

    mine = await services.rooms.create("alice", RoomSettings(name="mine", platform="daily"))
    shared = await services.rooms.create("bob", RoomSettings(name="shared", platform="daily", is_shared=True))
    await services.rooms.create("bob", RoomSettings(name="bobs", platform="daily"))
    rooms, total = await services.rooms.page(Caller(user_id="alice"), 1, 50)
    assert [r.id for r in rooms] == [shared.id, mine.id] and total == 2
    anonymous, _ = await services.rooms.page(Caller(user_id=None), 1, 50)
    assert [r.id for r in anonymous] == [shared.id]
    everything, total = await services.rooms.page(Caller(user_id="root", role="admin"), 1, 2)
    assert len(everything) == 2 and total == 3


async def test_joiners_share_the_rooms_meeting_until_its_settings_change(
    services: Services, platform: RecordingPlatform
) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="standup", platform="daily"))
    first = await services.meetings.meeting_for(room)
    assert first.room_url == "https://video.example/standup-1" and first.platform_id == "platform-standup-1"
    assert (first.end_date - first.start_date).total_seconds() == 8 * 3600
    assert (await services.meetings.meeting_for(room)).id == first.id
    assert (await services.meetings.meeting_for(room, allow_duplicated=True)).id != first.id
    locked = await services.rooms.update(room.id, RoomChanges(is_locked=True))
    relocked = await services.meetings.meeting_for(locked)
    assert relocked.id != first.id and relocked.is_locked
    await services.meetings.end(relocked.id)
    assert (await services.meetings.meeting_for(locked)).id != relocked.id
    assert len(platform.opened) == 4


async def test_two_people_joining_at_once_get_one_meeting(services: Services, platform: RecordingPlatform) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="busy", platform="daily"))
    meetings = await asyncio.gather(*(services.meetings.meeting_for(room) for _ in range(4)))
    assert len({m.id for m in meetings}) == 1
    assert len(platform.opened) == 1


async def test_a_room_on_a_platform_not_configured_gets_no_meeting(services: Services) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="live", platform="livekit"))
    with pytest.raises(PlatformNotConfigured, match="No video platform is configured for livekit"):
        await services.meetings.meeting_for(room)
    assert await services.meetings.active(room) == []


async def test_each_persons_latest_consent_counts_once(services: Services) -> None:
    from reflector.domain.rooms.tables import MeetingConsent

    room = await services.rooms.create("alice", RoomSettings(name="consent", platform="daily"))
    meeting = await services.meetings.meeting_for(room)
    first = await services.meetings.consent(meeting.id, "bob", True)
    again = await services.meetings.consent(meeting.id, "bob", False)
    assert again.id == first.id and not again.consent_given
    browser = await services.meetings.consent(meeting.id, None, True, "browser-1")
    changed = await services.meetings.consent(meeting.id, None, False, "browser-1")
    assert changed.id == browser.id and not changed.consent_given
    # Answers at the same moment from one person: still one row (the unique index, not a read-then-write).
    await asyncio.gather(*(services.meetings.consent(meeting.id, "carol", i % 2 == 0) for i in range(6)))
    # An anonymous answer that names no browser is kept on its own, as Reflector keeps them.
    await services.meetings.consent(meeting.id, None, True)
    await services.meetings.consent(meeting.id, None, True, "../not-an-id")
    rows = await MeetingConsent.select().where(MeetingConsent.meeting_id == meeting.id)
    people = sorted((r["user_id"] or "", r["consent_given"]) for r in rows)
    assert people[:3] == [("", False), ("", True), ("", True)] and people[3:][0] == ("bob", False)
    assert [p for p, _ in people].count("carol") == 1 and len(rows) == 5


async def test_a_deleted_room_takes_its_meetings_and_leaves_its_transcripts(services: Services) -> None:
    room = await services.rooms.create("alice", RoomSettings(name="gone", platform="daily"))
    meeting = await services.meetings.meeting_for(room)
    transcript = await services.transcripts.create(NewTranscript(name="Recorded", source_kind="room"))
    await transcripts_table.update(transcript.id, {"room_id": room.id, "meeting_id": meeting.id})
    await services.rooms.delete(room.id)
    with pytest.raises(RoomNotFound):
        await services.rooms.get(room.id)
    left = await services.transcripts.get(transcript.id)
    assert (left.room_id, left.meeting_id) == (None, None)
    with pytest.raises(Exception, match="foreign key"):
        await transcripts_table.update(transcript.id, {"room_id": "no-such-room"})


def test_every_setting_is_a_closed_set() -> None:
    with pytest.raises(msgspec.ValidationError, match="recording_type"):
        msgspec.convert({"name": "x", "platform": "daily", "recording_type": "tape"}, RoomSettings)
    with pytest.raises(msgspec.ValidationError, match="platform"):
        msgspec.convert({"name": "x", "platform": "zoom"}, RoomSettings)
