"""The LiveKit client against a local LiveKit server speaking Twirp JSON with JWT-authorised calls."""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from reflector.adapters.platforms import PlatformError
from reflector.adapters.platforms.livekit import LiveKitClient, S3Upload, TrackFile, api_url
from reflector.settings import load_settings
from tests.platforms.livekit_fake import FakeLiveKit


@pytest.fixture
async def client(livekit: FakeLiveKit) -> AsyncIterator[LiveKitClient]:
    async with LiveKitClient(livekit.base_url, livekit.api_key, livekit.api_secret) as client:
        yield client


def test_the_api_is_reached_over_http_at_the_url_clients_connect_to() -> None:
    assert api_url("wss://meet.example.org/") == "https://meet.example.org"
    assert api_url("ws://127.0.0.1:7880") == "http://127.0.0.1:7880"


async def test_a_room_is_created_with_track_egress_to_our_bucket(client: LiveKitClient, livekit: FakeLiveKit) -> None:
    egress = TrackFile("livekit/{room_name}/{track_id}", S3Upload(bucket="recordings", region="eu-west-1"))
    room = await client.create_room("team-20260304093005", empty_timeout_s=600, track_egress=egress)

    assert room.name == "team-20260304093005" and room.sid.startswith("RM_")
    assert room.empty_timeout == 600 and room.creation_time > 0
    assert livekit.requests[-1].json()["egress"] == {
        "tracks": {"filepath": "livekit/{room_name}/{track_id}", "s3": {"bucket": "recordings", "region": "eu-west-1"}}
    }


async def test_each_join_gets_its_own_identity_and_a_token_livekit_accepts(
    client: LiveKitClient, livekit: FakeLiveKit
) -> None:
    first = client.access_token("team-1", "Zoë Ørsted")
    second = client.access_token("team-1", "Zoë Ørsted")

    assert first.identity != second.identity
    assert re.fullmatch(r"zoë-ørsted-[0-9a-f]{6}", first.identity), first.identity
    assert re.fullmatch(r"guest-[0-9a-f]{6}", client.access_token("team-1", " !? ").identity)
    claims = jwt.decode(first.token, OctKey.import_key(livekit.api_secret), algorithms=["HS256"]).claims
    assert claims["iss"] == livekit.api_key and claims["sub"] == first.identity and claims["name"] == "Zoë Ørsted"
    assert claims["video"] == {
        "roomJoin": True,
        "room": "team-1",
        "canPublish": True,
        "canSubscribe": True,
        "canPublishData": True,
    }
    assert claims["exp"] > claims["nbf"]


async def test_participants_are_listed_and_a_track_egress_started(client: LiveKitClient, livekit: FakeLiveKit) -> None:
    await client.create_room("team-1")
    livekit.join("team-1", "ana-0a1b2c", "Ana")

    [ana] = await client.list_participants("team-1")
    assert (ana.identity, ana.name) == ("ana-0a1b2c", "Ana")
    started = await client.start_track_egress("team-1", "TR_ana_mic", TrackFile("livekit/team-1/ana.ogg"))
    assert started.egress_id.startswith("EG_") and started.room_name == "team-1"
    assert started.status == "EGRESS_STARTING"

    await client.delete_room("team-1")
    with pytest.raises(PlatformError, match=r"LiveKit answered POST /twirp/livekit\.RoomService/\w+ with HTTP 404"):
        await client.list_participants("team-1")


async def test_a_wrong_secret_is_refused_by_livekit(livekit: FakeLiveKit) -> None:
    async with LiveKitClient(livekit.base_url, livekit.api_key, "another-secret-of-at-least-32-chars!!") as client:
        with pytest.raises(PlatformError, match=r"HTTP 401.*unauthenticated") as refused:
            await client.create_room("team-1")
    assert refused.value.status == 401 and refused.value.platform == "LiveKit"


async def test_the_client_comes_from_settings_and_says_what_to_set_without_them(livekit: FakeLiveKit) -> None:
    environ = {"LIVEKIT_URL": livekit.base_url.replace("http", "ws"), "LIVEKIT_API_KEY": livekit.api_key}
    settings = load_settings({**environ, "LIVEKIT_API_SECRET": livekit.api_secret}, dotenv=Path("/none"))
    async with LiveKitClient.from_settings(settings.platforms) as client:
        assert (await client.create_room("team-1")).name == "team-1"
    with pytest.raises(PlatformError, match="set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET"):
        LiveKitClient.from_settings(load_settings({}, dotenv=Path("/none")).platforms)
