"""The Daily.co client against a local Daily that speaks its documented REST API."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from reflector.adapters.platforms import PlatformError
from reflector.adapters.platforms.daily import (
    DailyClient,
    RecordingAlreadyActive,
    RecordingsBucket,
    RoomProperties,
)
from reflector.settings import load_settings
from tests.platforms.daily_fake import FakeDaily
from tests.platforms.fake_server import Inbox

OPENED = datetime(2026, 3, 4, 9, 30, 5, tzinfo=UTC)


@pytest.fixture
async def client(daily: FakeDaily) -> AsyncIterator[DailyClient]:
    async with DailyClient(daily.api_key, daily.api_url) as client:
        yield client


async def test_a_room_is_named_after_the_reflector_room_and_its_opening_time(
    client: DailyClient, daily: FakeDaily
) -> None:
    bucket = RecordingsBucket("recordings", "eu-west-1", "arn:aws:iam::1:role/daily")
    properties = RoomProperties(exp=1772620000, enable_recording="raw-tracks", recordings_bucket=bucket)
    room = await client.create_room("team", now=OPENED, privacy="private", properties=properties)

    assert room.name == "team-20260304093005"
    assert room.url == f"https://{daily.domain}.daily.co/team-20260304093005"
    assert room.privacy == "private"
    assert room.config.exp == 1772620000
    assert room.config.recordings_bucket == bucket
    sent = daily.requests[-1].json()
    assert sent["properties"]["recordings_bucket"] == {
        "bucket_name": "recordings",
        "bucket_region": "eu-west-1",
        "assume_role_arn": "arn:aws:iam::1:role/daily",
        "allow_api_access": True,
    }
    assert (await client.get_room(room.name)).id == room.id


async def test_deleting_a_room_twice_says_it_was_already_gone(client: DailyClient) -> None:
    room = await client.create_room("team", now=OPENED)
    assert await client.delete_room(room.name) is True
    assert await client.delete_room(room.name) is False


async def test_a_meeting_still_in_use_has_its_room_expiry_pushed_back(client: DailyClient) -> None:
    room = await client.create_room("team", now=OPENED, properties=RoomProperties(exp=1772620000, enable_chat=True))
    extended = await client.update_room(room.name, RoomProperties(exp=1772623600))
    assert (extended.config.exp, extended.config.enable_chat) == (1772623600, True)


async def test_presence_lists_who_is_in_the_call(client: DailyClient, daily: FakeDaily) -> None:
    room = await client.create_room("team", now=OPENED)
    await daily.join(room.name, "Zoë Ørsted", user_id="user-1")
    await daily.join(room.name, "Ana")

    presence = await client.presence(room.name)

    assert presence.total_count == 2
    assert [(p.user_name, p.user_id) for p in presence.data] == [("Zoë Ørsted", "user-1"), ("Ana", None)]
    assert presence.data[0].join_time is not None


async def test_a_meeting_token_carries_the_owner_right_for_the_room_owner(
    client: DailyClient, daily: FakeDaily
) -> None:
    room = await client.create_room("team", now=OPENED)
    owner = await client.meeting_token(room.name, user_id="owner-1", is_owner=True)
    guest = await client.meeting_token(room.name, user_id="guest-1")

    assert owner and guest and owner != guest
    assert daily.tokens == [
        {"room_name": room.name, "user_id": "owner-1", "is_owner": True},
        {"room_name": room.name, "user_id": "guest-1"},
    ]


async def test_a_recording_started_by_the_server_is_found_by_the_id_daily_returned(
    client: DailyClient, daily: FakeDaily
) -> None:
    room = await client.create_room("team", now=OPENED)
    session = await daily.join(room.name, "Ana")
    recording_id = await client.start_recording(room.name, "raw-tracks", "8b0c4a53-0000-5000-8000-000000000001")
    assert daily.requests[-1].json() == {"type": "raw-tracks", "instanceId": "8b0c4a53-0000-5000-8000-000000000001"}

    with pytest.raises(RecordingAlreadyActive, match="already recording"):
        await client.start_recording(room.name, "raw-tracks", "8b0c4a53-0000-5000-8000-000000000001")

    track = {"type": "audio", "s3Key": f"d/{room.name}/1-{session}-cam-audio-2", "size": 1234}
    await daily.finish_recording(recording_id, [track])
    recording = await client.get_recording(recording_id)
    assert recording.id == recording_id
    assert recording.status == "finished"
    assert recording.room_name == room.name
    assert [(t.type, t.s3_key) for t in recording.tracks] == [("audio", track["s3Key"])]
    assert recording.meeting_session_id is not None

    listed = await client.list_recordings(room_name=room.name)
    assert [r.id for r in listed.data] == [recording_id]
    link = await client.recording_access_link(recording_id)
    assert link.download_link.startswith(daily.base_url) and link.expires > 0


async def test_recording_an_empty_room_is_refused_with_a_sentence(client: DailyClient) -> None:
    room = await client.create_room("team", now=OPENED)
    with pytest.raises(PlatformError, match=r"Daily answered POST .* with HTTP 400.*not seem to be hosting"):
        await client.start_recording(room.name, "cloud", "meeting-1")


async def test_the_meeting_participants_name_each_participant_id(client: DailyClient, daily: FakeDaily) -> None:
    room = await client.create_room("team", now=OPENED)
    ana = await daily.join(room.name, "Ana", user_id="u-ana")
    bo = await daily.join(room.name, "Bo")
    recording_id = await client.start_recording(room.name, "cloud", "m-1")
    await daily.leave(room.name, bo)
    meeting = (await client.get_recording(recording_id)).meeting_session_id
    assert meeting is not None

    people = await client.meeting_participants(meeting)

    assert {p.participant_id: p.user_name for p in people} == {ana: "Ana", bo: "Bo"}
    session = await client.meeting(meeting)
    assert (session.room, session.ongoing, session.max_participants) == (room.name, True, 2)


async def test_a_wrong_api_key_is_a_platform_error_naming_daily_and_401(daily: FakeDaily) -> None:
    async with DailyClient("wrong", daily.api_url) as client:
        with pytest.raises(PlatformError, match="Daily answered GET /rooms/x/presence with HTTP 401") as refused:
            await client.presence("x")
    assert refused.value.status == 401 and refused.value.platform == "Daily"


async def test_an_unreachable_daily_is_a_platform_error() -> None:
    async with DailyClient("key", "http://127.0.0.1:9/v1", timeout=2) as client:
        with pytest.raises(PlatformError, match="Daily could not be reached"):
            await client.presence("x")


async def test_creating_a_webhook_passes_dailys_test_post_and_lists_it(
    client: DailyClient, daily: FakeDaily, inbox: Inbox
) -> None:
    hook = await client.create_webhook(inbox.url, ["participant.joined", "recording.ready-to-download"])

    assert inbox.events() == [{"test": "test"}]
    assert hook.state == "ACTIVE" and hook.failed_count == 0 and hook.hmac
    assert hook.event_types == ["participant.joined", "recording.ready-to-download"]
    assert [h.uuid for h in await client.list_webhooks()] == [hook.uuid]


async def test_a_webhook_whose_endpoint_refuses_the_test_post_is_not_created(
    client: DailyClient, daily: FakeDaily, inbox: Inbox
) -> None:
    inbox.status = 422
    with pytest.raises(PlatformError, match=r"HTTP 400.*non-200 status code"):
        await client.create_webhook(inbox.url, ["participant.joined"])
    assert daily.webhooks == {}


async def test_three_failed_deliveries_turn_a_webhook_failed_and_an_update_revives_it(
    client: DailyClient, daily: FakeDaily, inbox: Inbox
) -> None:
    hook = await client.create_webhook(inbox.url, [])
    room = await client.create_room("team", now=OPENED)
    inbox.status = 500
    for name in ("Ana", "Bo", "Cy", "Di"):
        await daily.join(room.name, name)

    [failed] = await client.list_webhooks()
    assert (failed.state, failed.failed_count) == ("FAILED", 3)
    assert [status for _, status in daily.deliveries] == [500, 500, 500]  # nothing sent once FAILED

    inbox.status = 200
    revived = await client.update_webhook(hook.uuid, url=inbox.url)
    assert (revived.state, revived.failed_count) == ("ACTIVE", 0)
    await client.delete_webhook(hook.uuid)
    assert await client.list_webhooks() == []


async def test_the_client_comes_from_settings_and_says_what_to_set_without_them(daily: FakeDaily) -> None:
    settings = load_settings({"DAILY_API_KEY": daily.api_key, "DAILY_API_URL": daily.api_url}, dotenv=Path("/none"))
    async with DailyClient.from_settings(settings.platforms) as client:
        assert (await client.presence("nobody-here")).total_count == 0
    with pytest.raises(PlatformError, match="set DAILY_API_KEY"):
        DailyClient.from_settings(load_settings({}, dotenv=Path("/none")).platforms)


async def test_a_test_in_another_process_drives_the_fake_over_http(client: DailyClient, daily: FakeDaily) -> None:
    room = await client.create_room("team", now=OPENED)
    async with httpx.AsyncClient(base_url=daily.base_url) as control:
        joined = await control.post(f"/_fake/rooms/{room.name}/join", json={"user_name": "Ana", "user_id": "u-1"})
        assert joined.status_code == 200
        recording_id = await client.start_recording(room.name, "cloud", "m-1")
        finished = await control.post(f"/_fake/recordings/{recording_id}/finish", json={})
        assert finished.json()["type"] == "recording.ready-to-download"
        session = joined.json()["session_id"]
        assert (await control.post(f"/_fake/rooms/{room.name}/leave/{session}")).status_code == 200

    assert (await client.presence(room.name)).total_count == 0
    assert (await client.get_recording(recording_id)).status == "finished"
