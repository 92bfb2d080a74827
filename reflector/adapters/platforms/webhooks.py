"""Verification of the webhooks Daily.co, Whereby and LiveKit send us: pure functions of the headers, the
RAW body bytes and the clock. Each returns the parsed event or raises ForgedWebhook (answer 401, change
nothing) or UnreadableWebhook (authentic but not an event we can read: answer 2xx and log it, since Daily
switches a webhook off after 3 failed deliveries). An authentic event of a type we do not handle parses with
`handled=False`. Replays inside the window are the receiver's to refuse, by the event's id.

The signature is always checked over the bytes as received, never over re-serialised JSON: Reflector
re-encodes Whereby's body before hashing, which breaks on key order and on non-ASCII display names."""

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

import msgspec
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

# Older than this, a signed request is refused (a replay window); ahead of our clock, by more than SKEW_S.
MAX_AGE_S = 300
SKEW_S = 30


class ForgedWebhook(Exception):
    """Not sent by the platform, or not now: bad or missing signature, stale or future timestamp."""

    def __init__(self, platform: str, reason: str) -> None:
        super().__init__(f"{platform} webhook refused: {reason}")
        self.platform = platform
        self.reason = reason


class UnreadableWebhook(Exception):
    """Signed by the platform, but the body is no event envelope we can read."""

    def __init__(self, platform: str, reason: str) -> None:
        super().__init__(f"{platform} webhook unreadable: {reason}")
        self.platform = platform
        self.reason = reason


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever the case the mapping keeps it in."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def check_fresh(platform: str, timestamp: float, now: float) -> None:
    if timestamp > now + SKEW_S:
        raise ForgedWebhook(platform, f"its timestamp is {timestamp - now:.0f} s in the future")
    if now - timestamp > MAX_AGE_S:
        raise ForgedWebhook(platform, f"its timestamp is {now - timestamp:.0f} s old (more than {MAX_AGE_S} s)")


def _unix_seconds(platform: str, text: str | None) -> float:
    try:
        value = float(text or "")
    except ValueError:
        raise ForgedWebhook(platform, f"its timestamp {text!r} is not a unix time") from None
    return value / 1000 if value > 1e11 else value  # milliseconds, as some senders write


def _decode(platform: str, body: bytes, kind: type) -> Any:
    try:
        return msgspec.json.decode(body, type=kind, strict=False)
    except msgspec.DecodeError as exc:
        raise UnreadableWebhook(platform, f"not a {kind.__name__}: {exc}") from exc


# ---- Daily.co ------------------------------------------------------------------------------------------


class DailyParticipant(msgspec.Struct, frozen=True):
    """participant.joined / participant.left."""

    room: str
    session_id: str
    user_id: str | None = None
    user_name: str | None = None
    owner: bool = False
    joined_at: float | None = None
    duration: float | None = None


class DailyRecordingTrack(msgspec.Struct, frozen=True, rename="camel"):
    type: str
    s3_key: str
    size: int = 0


class DailyRecordingEvent(msgspec.Struct, frozen=True):
    """recording.started / recording.ready-to-download."""

    recording_id: str
    room_name: str
    type: str | None = None  # cloud | raw-tracks
    start_ts: float | None = None
    status: str | None = None
    duration: float | None = None
    max_participants: int | None = None
    s3_key: str | None = None
    tracks: list[DailyRecordingTrack] = []


class DailyRecordingError(msgspec.Struct, frozen=True):
    room_name: str | None = None
    instance_id: str | None = None
    error_msg: str | None = None
    timestamp: float | None = None


DailyPayload = DailyParticipant | DailyRecordingEvent | DailyRecordingError
DAILY_PAYLOADS: dict[str, type] = {
    "participant.joined": DailyParticipant,
    "participant.left": DailyParticipant,
    "recording.started": DailyRecordingEvent,
    "recording.ready-to-download": DailyRecordingEvent,
    "recording.error": DailyRecordingError,
}


class _DailyEnvelope(msgspec.Struct, frozen=True):
    type: str
    id: str
    event_ts: float
    payload: msgspec.Raw = msgspec.Raw(b"{}")
    version: str = ""


class DailyEvent(msgspec.Struct, frozen=True):
    type: str
    id: str
    event_ts: float
    version: str
    payload: DailyPayload | None  # None: a type we do not handle, or a payload we could not read
    handled: bool
    problem: str | None = None


class DailyTestPing(msgspec.Struct, frozen=True):
    """The {"test":"test"} POST Daily sends when a webhook is created: answer 200, nothing else."""


def verify_daily(
    headers: Mapping[str, str], body: bytes, secret: str, *, now: float | None = None
) -> DailyEvent | DailyTestPing:
    """`secret` is the webhook's `hmac` as Daily shows it (base64); the signature is base64 HMAC-SHA256 of
    "{X-Webhook-Timestamp}.{body}" under the decoded secret."""
    platform = "Daily"
    if _is_test_ping(body):
        return DailyTestPing()
    signature, stamp = header(headers, "X-Webhook-Signature"), header(headers, "X-Webhook-Timestamp")
    if not signature or not stamp:
        raise ForgedWebhook(platform, "X-Webhook-Signature or X-Webhook-Timestamp is missing")
    try:
        key = base64.b64decode(secret, validate=True)
    except binascii.Error as exc:
        raise ValueError("DAILY_WEBHOOK_SECRET is not base64: copy the webhook's hmac as Daily shows it") from exc
    expected = base64.b64encode(hmac.new(key, stamp.encode() + b"." + body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise ForgedWebhook(platform, "the signature does not match the body")
    check_fresh(platform, _unix_seconds(platform, stamp), time.time() if now is None else now)
    envelope = _decode(platform, body, _DailyEnvelope)
    kind = DAILY_PAYLOADS.get(envelope.type)
    payload, problem = _payload(envelope.payload, kind)
    return DailyEvent(
        type=envelope.type,
        id=envelope.id,
        event_ts=envelope.event_ts,
        version=envelope.version,
        payload=payload,
        handled=payload is not None,
        problem=problem,
    )


def _is_test_ping(body: bytes) -> bool:
    try:
        return msgspec.json.decode(body) == {"test": "test"}
    except msgspec.DecodeError:
        return False


def _payload(raw: msgspec.Raw, kind: type | None) -> tuple[Any, str | None]:
    if kind is None:
        return None, None
    try:
        return msgspec.json.decode(raw, type=kind, strict=False), None
    except msgspec.DecodeError as exc:
        return None, str(exc)


# ---- Whereby -------------------------------------------------------------------------------------------


class WherebyParticipant(msgspec.Struct, frozen=True, rename="camel"):
    """room.client.joined / room.client.left."""

    meeting_id: str
    room_name: str | None = None
    room_session_id: str | None = None
    participant_id: str | None = None
    display_name: str | None = None
    role_name: str | None = None
    num_clients: int | None = None
    external_id: str | None = None
    metadata: str | None = None


WHEREBY_PAYLOADS: dict[str, type] = {"room.client.joined": WherebyParticipant, "room.client.left": WherebyParticipant}


class _WherebyEnvelope(msgspec.Struct, frozen=True, rename="camel"):
    type: str
    created_at: str
    data: msgspec.Raw = msgspec.Raw(b"{}")
    id: str | None = None
    api_version: str | None = None


class WherebyEvent(msgspec.Struct, frozen=True):
    type: str
    id: str | None
    created_at: str
    data: WherebyParticipant | None
    handled: bool
    problem: str | None = None


def verify_whereby(headers: Mapping[str, str], body: bytes, secret: str, *, now: float | None = None) -> WherebyEvent:
    """`whereby-signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "{t}.{raw body}")>`."""
    platform = "Whereby"
    value = header(headers, "whereby-signature")
    if not value:
        raise ForgedWebhook(platform, "the whereby-signature header is missing")
    pairs = [part.strip().partition("=") for part in value.split(",")]
    stamp = next((v for k, _, v in pairs if k == "t"), None)
    signatures = [v for k, _, v in pairs if k == "v1"]  # several while a secret is being rotated
    if not stamp or not signatures:
        raise ForgedWebhook(platform, "the whereby-signature header has no t= or v1=")
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected.encode(), s.strip().encode()) for s in signatures):
        raise ForgedWebhook(platform, "the signature does not match the body")
    check_fresh(platform, _unix_seconds(platform, stamp), time.time() if now is None else now)
    envelope = _decode(platform, body, _WherebyEnvelope)
    data, problem = _payload(envelope.data, WHEREBY_PAYLOADS.get(envelope.type))
    return WherebyEvent(
        type=envelope.type,
        id=envelope.id,
        created_at=envelope.created_at,
        data=data,
        handled=data is not None,
        problem=problem,
    )


# ---- LiveKit -------------------------------------------------------------------------------------------


class LiveKitRoomInfo(msgspec.Struct, frozen=True, rename="camel"):
    sid: str = ""
    name: str = ""
    num_participants: int = 0
    creation_time: int = 0


class LiveKitParticipantInfo(msgspec.Struct, frozen=True, rename="camel"):
    sid: str = ""
    identity: str = ""
    name: str = ""
    joined_at: int = 0
    metadata: str = ""


class LiveKitFileResult(msgspec.Struct, frozen=True, rename="camel"):
    filename: str = ""
    location: str = ""
    size: int = 0
    duration: int = 0
    started_at: int = 0


class LiveKitEgressInfo(msgspec.Struct, frozen=True, rename="camel"):
    egress_id: str = ""
    room_name: str = ""
    status: str | int = ""
    file_results: list[LiveKitFileResult] = []
    error: str = ""


LIVEKIT_EVENTS = frozenset(
    {
        "room_started",
        "room_finished",
        "participant_joined",
        "participant_left",
        "egress_started",
        "egress_updated",
        "egress_ended",
        "track_published",
        "track_unpublished",
    }
)


class LiveKitEvent(msgspec.Struct, frozen=True, rename="camel"):
    event: str
    id: str = ""
    created_at: int = 0
    room: LiveKitRoomInfo | None = None
    participant: LiveKitParticipantInfo | None = None
    egress_info: LiveKitEgressInfo | None = None

    @property
    def handled(self) -> bool:
        return self.event in LIVEKIT_EVENTS


def verify_livekit(
    headers: Mapping[str, str], body: bytes, api_key: str, api_secret: str, *, now: float | None = None
) -> LiveKitEvent:
    """`Authorization: <JWT>` (HS256 under the API secret, `iss` = the API key) whose `sha256` claim is the
    base64 SHA-256 of the body; its `nbf`/`exp` bound when it was sent."""
    platform = "LiveKit"
    token = (header(headers, "Authorization") or "").removeprefix("Bearer ").strip()
    if not token:
        raise ForgedWebhook(platform, "the Authorization header is missing")
    try:
        claims = jwt.decode(token, OctKey.import_key(api_secret), algorithms=["HS256"]).claims
    except (JoseError, ValueError) as exc:
        raise ForgedWebhook(platform, f"the token is not signed with our API secret ({exc})") from None
    if not hmac.compare_digest(str(claims.get("iss", "")).encode(), api_key.encode()):
        raise ForgedWebhook(platform, "the token names another API key")
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if not hmac.compare_digest(digest.encode(), str(claims.get("sha256", "")).encode()):
        raise ForgedWebhook(platform, "the body does not match the token's sha256")
    _check_token_times(platform, claims, time.time() if now is None else now)
    return _decode(platform, body, LiveKitEvent)


def _check_token_times(platform: str, claims: dict[str, Any], now: float) -> None:
    issued, expires = claims.get("nbf", claims.get("iat")), claims.get("exp")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        raise ForgedWebhook(platform, "the token has no nbf or exp")
    if expires + SKEW_S < now:
        raise ForgedWebhook(platform, f"the token expired {now - expires:.0f} s ago")
    check_fresh(platform, issued, now)
