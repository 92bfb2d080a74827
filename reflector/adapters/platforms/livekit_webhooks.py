"""LiveKit's webhooks (https://docs.livekit.io/home/server/webhooks/): a JWT in `Authorization`, HS256
under the API secret with `iss` = the API key, whose `sha256` claim is the base64 SHA-256 of the body; the
event is protobuf JSON {event, id, createdAt, room, participant, egressInfo}."""

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

import msgspec
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from reflector.adapters.platforms.webhooks import (
    SKEW_S,
    ForgedWebhook,
    check_fresh,
    decode_event,
    header,
)


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
    return decode_event(platform, body, LiveKitEvent)


def _check_token_times(platform: str, claims: dict[str, Any], now: float) -> None:
    issued, expires = claims.get("nbf", claims.get("iat")), claims.get("exp")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        raise ForgedWebhook(platform, "the token has no nbf or exp")
    if expires + SKEW_S < now:
        raise ForgedWebhook(platform, f"the token expired {now - expires:.0f} s ago")
    check_fresh(platform, issued, now)
