"""The video platforms' webhooks through HTTP: every forgery (bad signature, stale timestamp, no signature)
is 401 with nothing stored or changed; every authentic event is 2xx (handled, redelivered, of a type we do
not handle, or unreadable), stored once by its id, and a join/leave sequence sent by the fakes moves the
meeting's count of people."""

import base64
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from reflector.bootstrap import Services, video_platforms
from reflector.domain.ids import now
from reflector.domain.rooms import livekit_recordings
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.models import MeetingView, RoomSettings
from reflector.domain.rooms.service import MeetingService
from reflector.domain.rooms.tables import PlatformEvent, Recording
from reflector.platform_binding import close_platforms
from reflector.settings import PlatformSettings, Settings
from reflector.web.app import create_app
from tests.net import serve
from tests.platforms.conftest import daily, livekit, whereby  # noqa: F401 - fixtures
from tests.platforms.daily_fake import FakeDaily
from tests.platforms.livekit_fake import API_KEY, API_SECRET, FakeLiveKit
from tests.platforms.signing import body_of, daily_headers, livekit_headers, whereby_headers
from tests.platforms.whereby_fake import FakeWhereby

DAILY_SECRET = base64.b64encode(b"daily-webhook-secret-32-bytes!!!").decode()
WHEREBY_SECRET = "whereby-webhook-secret"
SECRETS = PlatformSettings(
    daily_webhook_secret=DAILY_SECRET,
    whereby_webhook_secret=WHEREBY_SECRET,
    livekit_url="ws://127.0.0.1:9",
    livekit_api_key=API_KEY,
    livekit_api_secret=API_SECRET,
)
PATHS = {"daily": "/v1/daily/webhook", "whereby": "/v1/whereby", "livekit": "/v1/livekit/webhook"}
Sign = Callable[[bytes, int], dict[str, str]]
SIGN: dict[str, Sign] = {
    "daily": lambda body, at: daily_headers(body, DAILY_SECRET, at),
    "whereby": lambda body, at: whereby_headers(body, WHEREBY_SECRET, at),
    "livekit": lambda body, at: livekit_headers(body, API_KEY, API_SECRET, at),
}


def with_platforms(services: Services, settings: Settings, platforms: PlatformSettings) -> Services:
    """The services with these platform settings, and no platform to ask (counts move by one per event)."""
    configured = msgspec.structs.replace(settings, platforms=platforms)
    meetings = MeetingService(services.redis, services.rooms, {})
    return dataclasses.replace(services, settings=configured, meetings=meetings)


@pytest.fixture
async def hooks(clean: Services, settings: Settings) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    services = with_platforms(clean, settings, SECRETS)
    app = create_app(services.settings, services=services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        yield services, client


async def meeting_on(platform: str) -> MeetingView:
    room = await rooms_table.insert_room({"name": f"team-{platform}", "user_id": "alice", "platform": platform})
    return await rooms_table.insert_meeting(
        {
            "room_id": room.id,
            "platform": platform,
            "platform_id": f"{platform}-meeting-1",
            "room_name": f"team-{platform}-20260101090000",
            "end_date": now() + timedelta(hours=1),
        }
    )


def joined(platform: str, meeting: MeetingView, name: str, event_id: str, clients: int = 1) -> dict[str, Any]:
    """A participant-joined event as each platform writes it."""
    if platform == "daily":
        payload = {"room": meeting.room_name, "session_id": event_id, "user_name": name, "joined_at": time.time()}
        return {"version": "1.0.0", "type": "participant.joined", "id": event_id, "payload": payload, "event_ts": 1.5}
    if platform == "whereby":
        data = {"meetingId": meeting.platform_id, "displayName": name, "numClients": clients}
        envelope = {"apiVersion": "1.0", "id": event_id, "createdAt": "2026-01-01T09:00:00Z"}
        return envelope | {"type": "room.client.joined", "data": data}
    room = {"sid": "RM_1", "name": meeting.room_name, "numParticipants": clients}
    participant = {"sid": "PA_1", "identity": "ana-1", "name": name}
    return {"event": "participant_joined", "id": event_id, "createdAt": 1, "room": room, "participant": participant}


async def deliver(client: httpx.AsyncClient, platform: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post(PATHS[platform], content=body, headers=headers)


async def state(meeting: MeetingView) -> tuple[int, int]:
    """How many events are stored, and how many people the meeting counts."""
    got = await rooms_table.get_meeting(meeting.id)
    assert got is not None
    return await PlatformEvent.count(), got.num_clients


@pytest.mark.parametrize("platform", ["daily", "whereby", "livekit"])
async def test_every_forgery_is_refused_and_changes_nothing(
    hooks: tuple[Services, httpx.AsyncClient], platform: str
) -> None:
    _, client = hooks
    meeting = await meeting_on(platform)
    body = body_of(joined(platform, meeting, "Ana", "evt-1"))
    signed = SIGN[platform](body, int(time.time()))
    other = SIGN[platform](body_of(joined(platform, meeting, "Bob", "evt-1")), int(time.time()))
    forgeries = {
        "no signature": {"Content-Type": "application/json"},
        "another body's signature": other,
        "an hour old": SIGN[platform](body, int(time.time()) - 3600),
        "six minutes old": SIGN[platform](body, int(time.time()) - 360),
        "from the future": SIGN[platform](body, int(time.time()) + 600),
    }
    for what, headers in forgeries.items():
        answer = await deliver(client, platform, body, headers)
        assert answer.status_code == 401, what
        assert platform.lower() in answer.json()["detail"].lower(), what
    # The body altered after signing, and a signed body with one byte changed.
    assert (await deliver(client, platform, body.replace(b"Ana", b"Eve"), signed)).status_code == 401
    assert await state(meeting) == (0, 0)
    assert (await deliver(client, platform, body, signed)).status_code == 200
    assert await state(meeting) == (1, 1)


@pytest.mark.parametrize("platform", ["daily", "whereby", "livekit"])
async def test_a_replayed_event_is_answered_but_processed_once(
    hooks: tuple[Services, httpx.AsyncClient], platform: str
) -> None:
    _, client = hooks
    meeting = await meeting_on(platform)
    body = body_of(joined(platform, meeting, "Ana", "evt-1", clients=1))
    headers = SIGN[platform](body, int(time.time()))
    first = await deliver(client, platform, body, headers)
    assert first.status_code == 200 and first.json() == {"status": "ok"}
    second_body = body_of(joined(platform, meeting, "Bob", "evt-2", clients=2))
    assert (await deliver(client, platform, second_body, SIGN[platform](second_body, int(time.time())))).is_success
    assert await state(meeting) == (2, 2)

    again = await deliver(client, platform, body, headers)  # the same delivery, inside the 5 minutes
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    resigned = await deliver(client, platform, body, SIGN[platform](body, int(time.time()) - 5))
    assert resigned.json() == {"status": "duplicate"}  # signed anew, same id: still the same event
    assert await state(meeting) == (2, 2)


@pytest.mark.parametrize("platform", ["daily", "whereby", "livekit"])
async def test_authentic_events_we_cannot_use_are_still_accepted(
    hooks: tuple[Services, httpx.AsyncClient], platform: str
) -> None:
    _, client = hooks
    meeting = await meeting_on(platform)
    unknown = {
        "daily": {"version": "1.0.0", "type": "streaming.started", "id": "evt-9", "payload": {}, "event_ts": 1},
        "whereby": {"apiVersion": "1.0", "id": "evt-9", "createdAt": "2026-01-01T09:00:00Z", "type": "room.knock"}
        | {"data": {}},
        "livekit": {"event": "ingress_started", "id": "evt-9", "createdAt": 1},
    }[platform]
    bodies = [body_of(unknown), b'{"type": "participant.joined", "id": ', b"\xff\xfe not even text", b"[]"]
    for body in bodies:
        answer = await deliver(client, platform, body, SIGN[platform](body, int(time.time())))
        assert answer.status_code == 200 and answer.json() == {"status": "ignored"}, body
    outcomes = await PlatformEvent.select(PlatformEvent.outcome).order_by(PlatformEvent.received_at)
    assert [o["outcome"] for o in outcomes] == ["ignored", "unreadable", "unreadable", "unreadable"]
    assert await state(meeting) == (4, 0)


@pytest.mark.parametrize("platform", ["daily", "whereby", "livekit"])
async def test_non_ascii_names_and_any_key_order_are_read_as_sent(
    hooks: tuple[Services, httpx.AsyncClient], platform: str
) -> None:
    _, client = hooks
    meeting = await meeting_on(platform)
    event = joined(platform, meeting, "Zoë Ångström 李", "evt-ü")
    reordered = dict(reversed(list(event.items())))
    for body in (
        json.dumps(reordered, ensure_ascii=False).encode(),  # UTF-8, spaces after separators
        json.dumps(reordered | {"id": "evt-ü2"} if "id" in event else reordered).encode(),  # \u escapes
    ):
        answer = await deliver(client, platform, body, SIGN[platform](body, int(time.time())))
        assert answer.status_code == 200 and answer.json()["status"] in ("ok", "duplicate")
    stored = await PlatformEvent.select(PlatformEvent.body).where(PlatformEvent.event_id == "evt-ü").first()
    assert stored is not None and "Zoë Ångström 李".encode() in stored["body"]


async def test_dailys_test_ping_is_answered_without_a_signature(hooks: tuple[Services, httpx.AsyncClient]) -> None:
    _, client = hooks
    answer = await client.post(PATHS["daily"], content=b'{"test":"test"}', headers={"Content-Type": "application/json"})
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert await PlatformEvent.count() == 0


async def test_a_platform_without_a_secret_accepts_no_webhook(clean: Services, settings: Settings) -> None:
    services = with_platforms(clean, settings, PlatformSettings())
    app = create_app(services.settings, services=services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        for platform in PATHS:
            body = b'{"type":"participant.joined","id":"x"}'
            # Signed with what the other side might guess: an empty secret.
            answer = await deliver(client, platform, body, daily_headers(body, "", int(time.time())))
            assert answer.status_code == 401 and "not set" in answer.json()["detail"]
        ping = await deliver(client, "daily", b'{"test":"test"}', {})
        assert ping.status_code == 200
    assert await PlatformEvent.count() == 0


async def test_a_daily_recording_ready_is_kept_pending_on_the_meeting_of_its_room(
    hooks: tuple[Services, httpx.AsyncClient],
) -> None:
    _, client = hooks
    meeting = await meeting_on("daily")
    await meeting_on("whereby")  # another meeting, started at the same time: never matched by time
    tracks = [
        {"type": "audio", "s3Key": f"dom/{meeting.room_name}/1700-p1-cam-audio-1701", "size": 10},
        {"type": "video", "s3Key": f"dom/{meeting.room_name}/1700-p1-cam-video-1701", "size": 10},
        {"type": "audio", "s3Key": f"dom/{meeting.room_name}/1700-p2-cam-audio-1900", "size": 10},
    ]
    payload = {"type": "raw-tracks", "recording_id": "rec-1", "room_name": meeting.room_name, "start_ts": 1700.0}
    event = {"version": "1.0.0", "type": "recording.ready-to-download", "id": "evt-r", "event_ts": 1.0}
    body = body_of(event | {"payload": payload | {"status": "finished", "tracks": tracks}})
    assert (await deliver(client, "daily", body, SIGN["daily"](body, int(time.time())))).json() == {"status": "ok"}

    rows = await Recording.select().where(Recording.platform_recording_id == "rec-1")
    assert len(rows) == 1 and rows[0]["meeting_id"] == meeting.id and rows[0]["status"] == "pending"
    assert rows[0]["object_key"] == f"dom/{meeting.room_name}"
    assert json.loads(rows[0]["track_keys"]) == [tracks[0]["s3Key"], tracks[2]["s3Key"]]


async def test_a_livekit_egress_of_an_unknown_room_is_answered_and_kept_nowhere(
    hooks: tuple[Services, httpx.AsyncClient],
) -> None:
    _, client = hooks
    egress = {"egressId": "EG_1", "roomName": "nobody-here", "status": "EGRESS_COMPLETE"}
    body = body_of({"event": "egress_ended", "id": "evt-e", "egressInfo": egress | {"fileResults": []}})
    assert (await deliver(client, "livekit", body, SIGN["livekit"](body, int(time.time())))).json() == {
        "status": "ignored"
    }
    assert await Recording.count() == 0


def livekit_event(event_id: str, kind: str, meeting: MeetingView, **fields: Any) -> bytes:
    room = {"sid": "RM_1", "name": meeting.room_name}
    return body_of({"event": kind, "id": event_id, "createdAt": "1780000000", "room": room, **fields})


def egress(meeting: MeetingView, egress_id: str, key: str = "", started_ns: int = 0) -> dict[str, Any]:
    info = {"egressId": egress_id, "roomName": meeting.room_name, "status": "EGRESS_ACTIVE"}
    if key:
        written = {"filename": key, "location": f"s3://recordings/{key}", "startedAt": str(started_ns)}
        info |= {"status": "EGRESS_COMPLETE", "fileResults": [written]}
    return info


async def test_a_livekit_recording_is_gathered_from_its_egresses_and_pending_once_all_have_ended(
    hooks: tuple[Services, httpx.AsyncClient],
) -> None:
    _, client = hooks
    meeting = await meeting_on("livekit")
    folder = f"livekit/{meeting.room_name}"
    ana, bo = f"{folder}/ana-1a2b3c-microphone-TR_a.ogg", f"{folder}/bo-4d5e6f-microphone-TR_b.ogg"
    person = {"sid": "PA_1", "identity": "bo-4d5e6f", "name": "Bø Ørsted"}
    events = [  # as LiveKit may send them: the room's end before the last egress has ended
        livekit_event("e1", "participant_joined", meeting, participant=person),
        livekit_event("e2", "egress_started", meeting, egressInfo=egress(meeting, "EG_a")),
        livekit_event("e3", "egress_started", meeting, egressInfo=egress(meeting, "EG_b")),
        livekit_event("e4", "egress_ended", meeting, egressInfo=egress(meeting, "EG_b", bo, 1_780_000_002_500_000_000)),
        livekit_event("e5", "room_finished", meeting),
        livekit_event("e4", "egress_ended", meeting, egressInfo=egress(meeting, "EG_b", bo, 1_780_000_002_500_000_000)),
    ]
    for body in events:
        assert (await deliver(client, "livekit", body, SIGN["livekit"](body, int(time.time())))).status_code == 200
    [gathering] = await Recording.select(Recording.status, Recording.track_keys).output(load_json=True)
    assert gathering == {"status": "recording", "track_keys": None}  # Ana's egress has not ended yet

    ended = egress(meeting, "EG_a", ana, 1_780_000_001_000_000_000)
    last = livekit_event("e6", "egress_ended", meeting, egressInfo=ended)
    assert (await deliver(client, "livekit", last, SIGN["livekit"](last, int(time.time())))).status_code == 200

    [row] = await Recording.select().output(load_json=True)
    assert row["status"] == "pending" and row["meeting_id"] == meeting.id
    assert row["platform_recording_id"] == f"livekit:{meeting.room_name}"
    assert row["track_keys"] == [ana, bo] and row["object_key"] == folder  # in the order they started
    assert row["recorded_at"] == datetime(2026, 5, 28, 20, 26, 41, tzinfo=UTC)
    assert row["platform_state"]["names"] == {"bo-4d5e6f": "Bø Ørsted"}


async def test_people_joining_and_leaving_on_the_fakes_are_counted(
    clean: Services,
    settings: Settings,
    daily: FakeDaily,  # noqa: F811
    whereby: FakeWhereby,  # noqa: F811
    livekit: FakeLiveKit,  # noqa: F811
) -> None:
    platforms = msgspec.structs.replace(
        SECRETS,
        daily_api_key=daily.api_key,
        daily_api_url=daily.api_url,
        whereby_api_key=whereby.api_key,
        whereby_api_url=whereby.api_url,
        livekit_url=livekit.base_url.replace("http://", "ws://"),
    )
    configured = msgspec.structs.replace(settings, platforms=platforms)
    bound = video_platforms(configured)
    services = dataclasses.replace(clean, settings=configured, meetings=MeetingService(clean.redis, clean.rooms, bound))
    try:
        async with serve(create_app(configured, services=services)) as base:
            meetings = {}
            for platform in ("daily", "whereby", "livekit"):
                room = await services.rooms.create("alice", RoomSettings(name=f"Team {platform}", platform=platform))
                meetings[platform] = await services.meetings.meeting_for(room)

            async def counted(platform: str) -> int:
                return (await services.meetings.get(meetings[platform].id)).num_clients

            # Daily: its webhook created through its API (the {"test":"test"} ping must be answered 200).
            hook = await bound["daily"].client.create_webhook(  # type: ignore[attr-defined]
                f"{base}/v1/daily/webhook", ["participant.joined", "participant.left"], hmac=DAILY_SECRET
            )
            assert hook.state == "ACTIVE"
            room_name = meetings["daily"].room_name
            ana = await daily.join(room_name, "Ana")
            await daily.join(room_name, "Zoë")
            assert await counted("daily") == 2
            await daily.leave(room_name, ana)
            assert await counted("daily") == 1
            assert all(status == 200 for _, status in daily.deliveries)

            whereby.webhook_url = f"{base}/v1/whereby"
            whereby.webhook_secret = WHEREBY_SECRET
            wid = meetings["whereby"].platform_id
            await whereby.join(wid, "Ana")
            await whereby.join(wid, "Jürgen")
            await whereby.leave(wid, "Ana")
            assert await counted("whereby") == 1 and whereby.deliveries == [200, 200, 200]

            lk_room = meetings["livekit"].room_name
            livekit.join(lk_room, "ana-1", "Ana")
            event = {"event": "participant_joined", "id": "EV_1", "room": {"name": lk_room, "sid": "RM_1"}}
            assert await livekit.deliver(f"{base}/v1/livekit/webhook", event) == 200
            assert await counted("livekit") == 1
    finally:
        await close_platforms(bound)


async def test_a_livekit_egress_whose_end_is_never_told_holds_its_recording_only_for_a_while(
    hooks: tuple[Services, httpx.AsyncClient],
) -> None:
    _, client = hooks
    meeting = await meeting_on("livekit")
    ana = f"livekit/{meeting.room_name}/ana-1a2b3c-microphone-TR_a.ogg"
    events = [
        livekit_event("e1", "egress_started", meeting, egressInfo=egress(meeting, "EG_a")),
        livekit_event("e2", "egress_started", meeting, egressInfo=egress(meeting, "EG_lost")),
        livekit_event(
            "e3", "egress_ended", meeting, egressInfo=egress(meeting, "EG_a", ana, 1_780_000_001_000_000_000)
        ),
        livekit_event("e4", "room_finished", meeting),
    ]
    for body in events:
        assert (await deliver(client, "livekit", body, SIGN["livekit"](body, int(time.time())))).status_code == 200

    assert await livekit_recordings.settle_overdue() == []  # the lost egress may still end: waited for
    [gathering] = await Recording.select(Recording.status)
    assert gathering == {"status": "recording"}

    [settled] = await livekit_recordings.settle_overdue(wait_s=0)  # as the sweep finds it EGRESS_WAIT_S later
    [row] = await Recording.select(Recording.id, Recording.status, Recording.track_keys).output(load_json=True)
    assert row == {"id": settled, "status": "pending", "track_keys": [ana]}
