"""Whereby's webhooks (https://docs.whereby.com/monitoring-usage/webhooks): `whereby-signature:
t=<unix s>,v1=<hex HMAC-SHA256(secret, "{t}.{raw body}")>`; the envelope is {type, id, createdAt, data}."""

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
    check_fresh(platform, unix_seconds(platform, stamp), time.time() if now is None else now)
    envelope = decode_event(platform, body, _WherebyEnvelope)
    data, problem = decode_payload(envelope.data, WHEREBY_PAYLOADS.get(envelope.type))
    return WherebyEvent(
        type=envelope.type,
        id=envelope.id,
        created_at=envelope.created_at,
        data=data,
        handled=data is not None,
        problem=problem,
    )
