"""The Whereby client against a local Whereby that speaks its documented Embedded API."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reflector.adapters.platforms import PlatformError
from reflector.adapters.platforms.whereby import CloudRecording, S3Destination, WherebyClient
from reflector.settings import load_settings
from tests.platforms.whereby_fake import FakeWhereby

END = datetime(2026, 3, 4, 17, 30, tzinfo=UTC)


@pytest.fixture
async def client(whereby: FakeWhereby) -> AsyncIterator[WherebyClient]:
    async with WherebyClient(whereby.api_key, whereby.api_url) as client:
        yield client


async def test_a_meeting_has_a_host_url_and_records_to_our_bucket(client: WherebyClient, whereby: FakeWhereby) -> None:
    recording = CloudRecording(S3Destination(bucket="recordings", access_key_id="AK", access_key_secret="SK"))
    meeting = await client.create_meeting(
        end=END, room_name_prefix="team-", is_locked=True, room_mode="group", recording=recording
    )

    assert meeting.room_name.startswith("/team-")
    assert meeting.room_url == f"https://{whereby.subdomain}.whereby.com{meeting.room_name}"
    assert meeting.host_room_url and meeting.host_room_url.startswith(meeting.room_url + "?roomKey=")
    assert whereby.requested == [
        {
            "endDate": "2026-03-04T17:30:00Z",
            "isLocked": True,
            "roomNamePattern": "uuid",
            "roomMode": "group",
            "fields": ["hostRoomUrl"],
            "roomNamePrefix": "team-",
            "recording": {
                "destination": {
                    "bucket": "recordings",
                    "accessKeyId": "AK",
                    "accessKeySecret": "SK",
                    "provider": "s3",
                    "fileFormat": "mp4",
                },
                "type": "cloud",
                "startTrigger": "automatic",
            },
        }
    ]


async def test_ending_a_meeting_twice_says_it_was_already_gone(client: WherebyClient) -> None:
    meeting = await client.create_meeting(end=END)
    assert await client.delete_meeting(meeting.meeting_id) is True
    assert await client.delete_meeting(meeting.meeting_id) is False


async def test_room_sessions_follow_people_joining_and_leaving(client: WherebyClient, whereby: FakeWhereby) -> None:
    meeting = await client.create_meeting(end=END)
    await whereby.join(meeting.meeting_id, "Zoë")
    await whereby.join(meeting.meeting_id, "Ana")
    open_sessions = await client.room_sessions(meeting.room_name)
    assert len(open_sessions.results) == 1 and open_sessions.results[0].ended_at is None

    await whereby.leave(meeting.meeting_id, "Zoë")
    await whereby.leave(meeting.meeting_id, "Ana")
    [session] = (await client.room_sessions(meeting.room_name)).results
    assert session.room_name == meeting.room_name and session.started_at and session.ended_at


async def test_a_refusal_names_whereby_and_the_status(whereby: FakeWhereby) -> None:
    async with WherebyClient("wrong", whereby.api_url) as client:
        with pytest.raises(PlatformError, match="Whereby answered POST /meetings with HTTP 401") as refused:
            await client.create_meeting(end=END)
    assert refused.value.status == 401


async def test_the_client_comes_from_settings_and_says_what_to_set_without_them(whereby: FakeWhereby) -> None:
    environ = {"WHEREBY_API_KEY": whereby.api_key, "WHEREBY_API_URL": whereby.api_url}
    async with WherebyClient.from_settings(load_settings(environ, dotenv=Path("/none")).platforms) as client:
        assert (await client.room_sessions("/nobody")).results == []
    with pytest.raises(PlatformError, match="set WHEREBY_API_KEY"):
        WherebyClient.from_settings(load_settings({}, dotenv=Path("/none")).platforms)
