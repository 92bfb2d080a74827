"""The rooms and meetings routes as Reflector's clients call them: CRUD, the duplicate name (409 here, a 500
in Reflector), bad settings (422), the webhook secret shown to the owner alone, shared rooms, one meeting
for two people joining at once, and consent. Callers are people with API keys, and anonymous visitors, on
an app with accounts (AUTH_BACKEND=oidc; no provider is needed for keys)."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import msgspec
import pytest

from reflector.bootstrap import Services
from reflector.domain.auth.models import Identity
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.meeting_platform import RecordingPlatform, with_platform


@dataclass
class People:
    http: httpx.AsyncClient
    services: Services
    platform: RecordingPlatform
    owner: dict[str, str]
    other: dict[str, str]
    anonymous: dict[str, str]


async def _key_of(services: Services, email: str) -> dict[str, str]:
    user = await services.auth.user_for_identity(Identity(sub=email, email=email, name=email.split("@")[0]))
    return {"X-API-Key": (await services.auth.create_key(user.id, "rooms")).key}


@pytest.fixture
async def people(clean: Services, settings: Settings) -> AsyncIterator[People]:
    accounts = msgspec.structs.replace(
        settings, auth=msgspec.structs.replace(settings.auth, backend="oidc", secret_key="x" * 32)
    )
    platform = RecordingPlatform()
    services = with_platform(clean, platform)
    transport = httpx.ASGITransport(app=create_app(accounts, services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        owner = await _key_of(clean, "owner@example.org")
        other = await _key_of(clean, "other@example.org")
        yield People(http, services, platform, owner, other, {})


ROOM = {
    "name": "Weekly Sync",
    "platform": "daily",
    "webhook_url": "https://hooks.example/reflector",
    "recording_type": "cloud",
    "room_mode": "group",
}


async def _room(people: People, **fields: object) -> dict:
    response = await people.http.post("/v1/rooms", json={**ROOM, **fields}, headers=people.owner)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_room_is_created_read_changed_and_deleted_by_its_owner(people: People) -> None:
    http, owner = people.http, people.owner
    room = await _room(people)
    assert room["name"] == "weekly-sync" and room["room_mode"] == "group" and room["is_shared"] is False
    assert room["webhook_secret"].startswith("whsec_")
    assert (await http.get(f"/v1/rooms/{room['id']}", headers=owner)).json() == room
    assert (await http.get("/v1/rooms/name/weekly-sync", headers=owner)).json()["id"] == room["id"]
    changed = await http.patch(f"/v1/rooms/{room['id']}", json={"is_locked": True}, headers=owner)
    assert changed.status_code == 200 and changed.json()["is_locked"] is True
    assert changed.json()["webhook_secret"] == room["webhook_secret"]
    listed = (await http.get("/v1/rooms", headers=owner)).json()
    assert (listed["total"], listed["page"], listed["size"], listed["pages"]) == (1, 1, 50, 1)
    deleted = await http.delete(f"/v1/rooms/{room['id']}", headers=owner)
    assert (deleted.status_code, deleted.json()) == (200, {"status": "ok", "transcripts_kept": 0})
    gone = await http.get(f"/v1/rooms/{room['id']}", headers=owner)
    assert (gone.status_code, gone.json()) == (404, {"detail": "Room not found"})


async def test_a_taken_name_is_a_409_with_a_sentence(people: People) -> None:
    await _room(people)
    again = await people.http.post("/v1/rooms", json={**ROOM, "name": "weekly sync"}, headers=people.other)
    assert again.status_code == 409
    assert again.json() == {"detail": "A room named 'weekly-sync' already exists: choose another name"}


@pytest.mark.parametrize(
    "field",
    [
        {"platform": "zoom"},
        {"room_mode": "huge"},
        {"recording_type": "tape"},
        {"recording_trigger": "sometimes"},
        {"ics_fetch_interval": 0},
        {"name": ""},
        {"is_shared": "yes"},
    ],
)
async def test_a_bad_setting_is_a_422(people: People, field: dict) -> None:
    created = await people.http.post("/v1/rooms", json={**ROOM, **field}, headers=people.owner)
    assert created.status_code == 422, created.text
    assert next(iter(field)) in str(created.json()["detail"])
    if "name" not in field:
        room = await _room(people, name="fine")
        changed = await people.http.patch(f"/v1/rooms/{room['id']}", json=field, headers=people.owner)
        assert changed.status_code == 422, changed.text


async def test_the_webhook_secret_is_shown_to_the_owner_alone(people: People) -> None:
    http = people.http
    room = await _room(people, is_shared=True)
    secret = room["webhook_secret"]
    for url in ("/v1/rooms", f"/v1/rooms/{room['id']}", "/v1/rooms/name/weekly-sync"):
        seen = await http.get(url, headers=people.other)
        assert seen.status_code == 200 and secret not in seen.text and "hooks.example" not in seen.text, url
        assert secret in (await http.get(url, headers=people.owner)).text
    anonymous = await http.get("/v1/rooms/name/weekly-sync")
    assert anonymous.status_code == 200 and secret not in anonymous.text


async def test_a_shared_room_is_seen_by_others_and_changed_by_its_owner_alone(people: People) -> None:
    http, other = people.http, people.other
    shared = await _room(people, name="shared", is_shared=True)
    private = await _room(people, name="private")
    listed = (await http.get("/v1/rooms", headers=other)).json()
    assert [r["id"] for r in listed["items"]] == [shared["id"]]
    assert (await http.get(f"/v1/rooms/{shared['id']}", headers=other)).status_code == 200
    refused = await http.get(f"/v1/rooms/{private['id']}", headers=other)
    assert (refused.status_code, refused.json()) == (403, {"detail": "Room access denied"})
    assert (await http.get(f"/v1/rooms/{private['id']}")).status_code == 401
    assert (await http.get("/v1/rooms")).status_code == 401
    changed = await http.patch(f"/v1/rooms/{shared['id']}", json={"is_shared": False}, headers=other)
    assert (changed.status_code, changed.json()) == (403, {"detail": "Only the room's owner can change it"})
    assert (await http.delete(f"/v1/rooms/{shared['id']}", headers=other)).status_code == 403
    assert (await http.post("/v1/rooms", json=ROOM)).status_code == 401


async def test_two_people_joining_at_once_get_one_meeting(people: People) -> None:
    http = people.http
    await _room(people)
    first, second = await asyncio.gather(
        http.post("/v1/rooms/weekly-sync/meeting", json={}, headers=people.other),
        http.post("/v1/rooms/weekly-sync/meeting", json={"allow_duplicated": False}),
    )
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["id"] == second.json()["id"] and len(people.platform.opened) == 1
    meeting = first.json()
    assert meeting["room_url"] == "https://video.example/weekly-sync-1" and meeting["host_room_url"] == ""
    assert meeting["user_id"] is None and meeting["platform"] == "daily" and meeting["room_mode"] == "group"
    as_owner = await http.post("/v1/rooms/weekly-sync/meeting", headers=people.owner)
    assert as_owner.json()["host_room_url"] == "https://video.example/weekly-sync-1?host=1"
    active = (await http.get("/v1/rooms/weekly-sync/meetings/active")).json()
    assert [m["id"] for m in active] == [meeting["id"]]
    one = await http.get(f"/v1/rooms/weekly-sync/meetings/{meeting['id']}")
    assert one.json()["id"] == meeting["id"]
    joined = await http.post(f"/v1/rooms/weekly-sync/meetings/{meeting['id']}/join")
    assert joined.status_code == 200 and joined.json()["room_url"] == meeting["room_url"]


async def test_only_the_rooms_owner_ends_a_meeting(people: People) -> None:
    http = people.http
    await _room(people)
    meeting = (await http.post("/v1/rooms/weekly-sync/meeting", headers=people.owner)).json()
    url = f"/v1/meetings/{meeting['id']}/deactivate"
    refused = await http.patch(url, headers=people.other)
    assert (refused.status_code, refused.json()) == (403, {"detail": "Only the room owner can deactivate meetings"})
    assert (await http.patch(url)).status_code == 401
    ended = await http.patch(url, headers=people.owner)
    assert ended.status_code == 200 and ended.json()["is_active"] is False
    assert (await http.patch(url, headers=people.owner)).status_code == 200  # again: nothing changes
    closed = await http.post(f"/v1/rooms/weekly-sync/meetings/{meeting['id']}/join")
    assert (closed.status_code, closed.json()) == (400, {"detail": "Meeting is not active"})
    assert (await http.get("/v1/rooms/weekly-sync/meetings/active")).json() == []


async def test_consent_is_recorded_for_anyone_in_the_meeting(people: People) -> None:
    http = people.http
    await _room(people)
    meeting = (await http.post("/v1/rooms/weekly-sync/meeting", headers=people.owner)).json()
    url = f"/v1/meetings/{meeting['id']}/consent"
    given = await http.post(url, json={"consent_given": True}, headers=people.other)
    assert given.status_code == 200 and given.json()["status"] == "success"
    again = await http.post(url, json={"consent_given": False}, headers=people.other)
    assert again.json()["consent_id"] == given.json()["consent_id"]
    anonymous = await http.post(url, json={"consent_given": False})
    assert anonymous.status_code == 200 and anonymous.json()["consent_id"] != given.json()["consent_id"]
    # An anonymous browser is known by the cookie its first answer set: its second answer replaces the first.
    browser = anonymous.cookies.get("reflector_participant")
    assert browser and "httponly" in anonymous.headers["set-cookie"].lower()
    changed = await http.post(url, json={"consent_given": True}, cookies={"reflector_participant": browser})
    assert changed.json()["consent_id"] == anonymous.json()["consent_id"]
    elsewhere = await http.post(url, json={"consent_given": True}, cookies={"reflector_participant": "another"})
    assert elsewhere.json()["consent_id"] != anonymous.json()["consent_id"]
    assert (await http.post(url, json={"consent_given": "maybe"})).status_code == 422
    missing = await http.post("/v1/meetings/no-such-meeting/consent", json={"consent_given": True})
    assert (missing.status_code, missing.json()) == (404, {"detail": "Meeting not found"})


async def test_a_room_on_a_platform_not_configured_is_told_so(people: People) -> None:
    await _room(people, name="kit", platform="livekit")
    refused = await people.http.post("/v1/rooms/kit/meeting", headers=people.owner)
    assert (refused.status_code, refused.json()) == (503, {"detail": "No video platform is configured for livekit"})
    missing = await people.http.post("/v1/rooms/nowhere/meeting")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Room not found"})
