"""Daily.co's webhooks (https://docs.daily.co/reference/rest-api/webhooks): `X-Webhook-Signature` is the
base64 HMAC-SHA256 of "{X-Webhook-Timestamp}.{raw body}" under the base64-decoded secret; the envelope is
{version, type, id, payload, event_ts}; {"test":"test"} is the POST Daily sends when a webhook is created."""

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

import msgspec

from reflector.adapters.platforms.webhooks import (
    ForgedWebhook,
    check_fresh,
    decode_event,
    decode_payload,
    header,
    unix_seconds,
)


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
    check_fresh(platform, unix_seconds(platform, stamp), time.time() if now is None else now)
    envelope = decode_event(platform, body, _DailyEnvelope)
    kind = DAILY_PAYLOADS.get(envelope.type)
    payload, problem = decode_payload(envelope.payload, kind)
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
