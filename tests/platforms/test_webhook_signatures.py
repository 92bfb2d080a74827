"""The forgery matrix for each platform's webhook verifier: forged or stale requests raise ForgedWebhook,
authentic ones parse whatever the key order or escaping of the JSON (the signature covers the raw bytes),
an authentic event of a type we do not handle parses as unhandled, and an authentic body that is no event
is UnreadableWebhook. The fakes sign as the platforms document, independently of the verifier."""

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reflector.adapters.platforms import ForgedWebhook, UnreadableWebhook
from reflector.adapters.platforms.daily import DailyClient
from reflector.adapters.platforms.daily_webhooks import (
    DailyEvent,
    DailyParticipant,
    DailyRecordingEvent,
    DailyTestPing,
    verify_daily,
)
from reflector.adapters.platforms.livekit_webhooks import LiveKitEvent, verify_livekit
from reflector.adapters.platforms.whereby import WherebyClient
from reflector.adapters.platforms.whereby_webhooks import WherebyEvent, verify_whereby
from tests.platforms.daily_fake import FakeDaily
from tests.platforms.fake_server import Inbox
from tests.platforms.livekit_fake import FakeLiveKit
from tests.platforms.signing import daily_headers, livekit_headers, whereby_headers
from tests.platforms.whereby_fake import FakeWhereby

NOW = 1_780_000_000
NAME = "Zoë Ørsted"
DAILY_SECRET = base64.b64encode(b"daily-webhook-secret-32-bytes!!!").decode()
OTHER_DAILY_SECRET = base64.b64encode(b"x" * 32).decode()
WHEREBY_SECRET = "whereby-webhook-secret"
LIVEKIT_KEY, LIVEKIT_SECRET = "APIkey", "livekit-api-secret-of-at-least-32-characters"


@dataclass(frozen=True)
class Platform:
    sign: Callable[[bytes, int, bool], dict[str, str]]  # body, timestamp, with our secret (else another)
    verify: Callable[[dict[str, str], bytes], Any]
    event: dict[str, Any]  # an event the platform sends, naming NAME
    name_in: Callable[[Any], str | None]
    unknown_type: dict[str, Any]


PLATFORMS = {
    "daily": Platform(
        sign=lambda body, t, ours: daily_headers(body, DAILY_SECRET if ours else OTHER_DAILY_SECRET, t),
        verify=lambda headers, body: verify_daily(headers, body, DAILY_SECRET, now=NOW),
        event={
            "version": "1.0.0",
            "type": "participant.joined",
            "id": "evt-1",
            "payload": {"room": "team-1", "session_id": "s-1", "user_id": None, "user_name": NAME, "owner": False},
            "event_ts": NOW - 1.5,
        },
        name_in=lambda event: event.payload.user_name,
        unknown_type={
            "version": "1.0.0",
            "type": "transcription.started",
            "id": "evt-2",
            "payload": {},
            "event_ts": NOW,
        },
    ),
    "whereby": Platform(
        sign=lambda body, t, ours: whereby_headers(body, WHEREBY_SECRET if ours else "another-secret", t),
        verify=lambda headers, body: verify_whereby(headers, body, WHEREBY_SECRET, now=NOW),
        event={
            "apiVersion": "1.0",
            "id": "wh-1",
            "createdAt": "2026-05-28T20:26:40.000Z",
            "type": "room.client.joined",
            "data": {"meetingId": "m-1", "roomName": "/team-x", "displayName": NAME, "numClients": 2},
        },
        name_in=lambda event: event.data.display_name,
        unknown_type={"id": "wh-2", "createdAt": "2026-05-28T20:26:40Z", "type": "room.knock", "data": {"x": 1}},
    ),
    "livekit": Platform(
        sign=lambda body, t, ours: livekit_headers(
            body, LIVEKIT_KEY, LIVEKIT_SECRET if ours else "another-secret-of-at-least-32-characters!", t
        ),
        verify=lambda headers, body: verify_livekit(headers, body, LIVEKIT_KEY, LIVEKIT_SECRET, now=NOW),
        event={
            "event": "participant_joined",
            "id": "EV_1",
            "createdAt": str(NOW),
            "room": {"sid": "RM_1", "name": "team-1"},
            "participant": {"sid": "PA_1", "identity": "zoë-ørsted-0a1b2c", "name": NAME, "joinedAt": str(NOW)},
        },
        name_in=lambda event: event.participant.name,
        unknown_type={"event": "ingress_started", "id": "EV_2", "createdAt": str(NOW)},
    ),
}


def compact(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def escaped(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=True).encode()  # "Zo\u00eb", spaces after separators


def reordered(event: dict[str, Any]) -> bytes:
    def reverse(value: Any) -> Any:
        return {k: reverse(v) for k, v in reversed(value.items())} if isinstance(value, dict) else value

    return json.dumps(reverse(event), ensure_ascii=False, indent=2).encode()


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("encode", [compact, escaped, reordered], ids=["compact-utf8", "escaped", "reordered"])
def test_an_authentic_event_parses_however_its_json_is_written(platform: str, encode: Any) -> None:
    p = PLATFORMS[platform]
    body = encode(p.event)
    event = p.verify(p.sign(body, NOW - 2, True), body)
    assert event.handled is True
    assert p.name_in(event) == NAME


# What is forged, and the words the refusal gives for it (a signature, key or secret; old, future, missing).
FORGERIES: dict[str, tuple[Callable[[Platform, bytes], tuple[dict[str, str], bytes]], str]] = {
    "bad signature": (lambda p, body: (p.sign(body, NOW, False), body), "signature|secret"),
    "old timestamp": (lambda p, body: (p.sign(body, NOW - 301 - 30, True), body), "old|expired"),
    "future timestamp": (lambda p, body: (p.sign(body, NOW + 120, True), body), "future"),
    "body altered after signing": (
        lambda p, body: (p.sign(body, NOW, True), body.replace(b"team", b"evil")),
        "does not match",
    ),
    "no signature": (lambda p, body: ({"Content-Type": "application/json"}, body), "missing"),
    "malformed JSON, not ours": (
        lambda p, body: (p.sign(body, NOW, False), b'{"type": "participant.joined",'),
        "signature|secret|does not match",
    ),
    "signature of another body": (lambda p, body: (p.sign(b"{}", NOW, True), body), "does not match"),
}


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_or_stale_webhook_is_refused(platform: str, forgery: str) -> None:
    p = PLATFORMS[platform]
    forge, reason = FORGERIES[forgery]
    headers, body = forge(p, compact(p.event))
    with pytest.raises(ForgedWebhook, match=reason):
        p.verify(headers, body)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_authentic_event_of_a_type_we_do_not_handle_parses_as_unhandled(platform: str) -> None:
    p = PLATFORMS[platform]
    body = compact(p.unknown_type)
    event = p.verify(p.sign(body, NOW, True), body)
    assert event.handled is False


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_authentic_body_that_is_no_event_is_unreadable_not_forged(platform: str) -> None:
    p = PLATFORMS[platform]
    for body in (b'{"type": "participant.joined",', b"[1, 2]", b'"text"'):
        with pytest.raises(UnreadableWebhook):
            p.verify(p.sign(body, NOW, True), body)


def test_a_livekit_token_issued_long_ago_is_stale_even_if_it_never_expires() -> None:
    body = compact(PLATFORMS["livekit"].event)
    headers = livekit_headers(body, LIVEKIT_KEY, LIVEKIT_SECRET, issued_at=NOW - 600, valid_for_s=3600)
    with pytest.raises(ForgedWebhook, match="old"):
        verify_livekit(headers, body, LIVEKIT_KEY, LIVEKIT_SECRET, now=NOW)


def test_a_livekit_token_from_another_api_key_is_refused() -> None:
    body = compact(PLATFORMS["livekit"].event)
    headers = livekit_headers(body, "APIother", LIVEKIT_SECRET, issued_at=NOW)
    with pytest.raises(ForgedWebhook, match="another API key"):
        verify_livekit(headers, body, LIVEKIT_KEY, LIVEKIT_SECRET, now=NOW)


def test_dailys_verification_post_is_recognised_without_a_signature() -> None:
    assert verify_daily({}, b'{"test":"test"}', DAILY_SECRET, now=NOW) == DailyTestPing()
    assert verify_daily({}, b'{"test": "test"}', DAILY_SECRET, now=NOW) == DailyTestPing()
    with pytest.raises(ForgedWebhook):
        verify_daily({}, b'{"test":"test","type":"participant.joined"}', DAILY_SECRET, now=NOW)


def test_a_daily_timestamp_in_milliseconds_is_read_as_such() -> None:
    body = compact(PLATFORMS["daily"].event)
    event = verify_daily(daily_headers(body, DAILY_SECRET, (NOW - 3) * 1000), body, DAILY_SECRET, now=NOW)
    assert isinstance(event, DailyEvent) and event.id == "evt-1"


def test_a_handled_daily_event_whose_payload_we_cannot_read_is_unhandled_with_the_problem() -> None:
    body = compact({**PLATFORMS["daily"].event, "payload": {"room": "team-1"}})  # no session_id
    event = verify_daily(daily_headers(body, DAILY_SECRET, NOW), body, DAILY_SECRET, now=NOW)
    assert isinstance(event, DailyEvent)
    assert event.handled is False and event.payload is None and "session_id" in (event.problem or "")


def test_a_daily_secret_that_is_not_base64_is_a_configuration_error() -> None:
    body = compact(PLATFORMS["daily"].event)
    with pytest.raises(ValueError, match="DAILY_WEBHOOK_SECRET is not base64"):
        verify_daily(daily_headers(body, DAILY_SECRET, NOW), body, "not base64!", now=NOW)


# ---- what the fakes send over the wire, read back by the verifiers ----


async def test_dailys_fake_delivers_events_the_verifier_accepts(daily: FakeDaily, inbox: Inbox) -> None:
    async with DailyClient(daily.api_key, daily.api_url) as client:
        await client.create_webhook(inbox.url, [], hmac=DAILY_SECRET)
        room = await client.create_room("team", now=datetime.now(UTC))
        await daily.join(room.name, NAME, user_id="u-1")
        recording_id = await client.start_recording(room.name, "raw-tracks", "instance-1")
    await inbox.received(3)
    track = {"type": "audio", "s3Key": f"d/{room.name}/1-s-cam-audio-2", "size": 9}
    await daily.finish_recording(recording_id, [track])

    ping, joined, started, ready = (verify_daily(r.headers, r.body, DAILY_SECRET) for r in await inbox.received(4))
    assert ping == DailyTestPing()
    assert isinstance(joined, DailyEvent) and isinstance(joined.payload, DailyParticipant)
    assert joined.payload.user_name == NAME and joined.payload.user_id == "u-1"
    assert isinstance(started, DailyEvent) and isinstance(started.payload, DailyRecordingEvent)
    assert started.type == "recording.started" and started.payload.recording_id == recording_id
    assert isinstance(ready, DailyEvent) and isinstance(ready.payload, DailyRecordingEvent)
    assert ready.payload.recording_id == recording_id and ready.payload.type == "raw-tracks"
    assert ready.payload.tracks[0].s3_key == track["s3Key"]


async def test_wherebys_fake_delivers_events_the_verifier_accepts(whereby: FakeWhereby, inbox: Inbox) -> None:
    whereby.webhook_url = inbox.url
    async with WherebyClient(whereby.api_key, whereby.api_url) as client:
        meeting = await client.create_meeting(end=datetime.now(UTC) + timedelta(hours=1))
    await whereby.join(meeting.meeting_id, NAME)

    [request] = inbox.requests
    assert NAME.encode() in request.body  # sent as UTF-8, not escaped
    event = verify_whereby(request.headers, request.body, whereby.webhook_secret)
    assert isinstance(event, WherebyEvent) and event.data is not None
    assert (event.data.meeting_id, event.data.display_name, event.data.num_clients) == (meeting.meeting_id, NAME, 1)


async def test_livekits_fake_delivers_events_the_verifier_accepts(livekit: FakeLiveKit, inbox: Inbox) -> None:
    event = {"event": "egress_ended", "id": "EV_9", "createdAt": "1780000000"}
    event["egressInfo"] = {"egressId": "EG_1", "roomName": "team-1", "status": "EGRESS_COMPLETE"}
    assert await livekit.deliver(inbox.url, event) == 200

    [request] = inbox.requests
    parsed = verify_livekit(request.headers, request.body, livekit.api_key, livekit.api_secret)
    assert isinstance(parsed, LiveKitEvent) and parsed.handled
    assert parsed.egress_info is not None and parsed.egress_info.egress_id == "EG_1"


def test_an_unsigned_livekit_token_is_refused() -> None:
    body = compact(PLATFORMS["livekit"].event)
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    claims = {"iss": LIVEKIT_KEY, "nbf": NOW, "exp": NOW + 300, "sha256": digest}

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    unsigned = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
    with pytest.raises(ForgedWebhook, match="not signed with our API secret"):
        verify_livekit({"Authorization": unsigned}, body, LIVEKIT_KEY, LIVEKIT_SECRET, now=NOW)
