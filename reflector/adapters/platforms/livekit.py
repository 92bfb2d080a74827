"""A LiveKit server's API (https://docs.livekit.io/reference/server/server-apis/): rooms and track egress over
Twirp (JSON POSTs to /twirp/livekit.<Service>/<Method>), authorised by short HS256 JWTs signed with the API
secret, and the access tokens participants join with. The JWTs follow LiveKit's documented claims (`iss` =
API key, `sub` = identity, `video` grants); joserfc signs them, so no second HTTP stack comes with the SDK."""

import re
import secrets
import time
from typing import Any

import httpx
import msgspec
from joserfc import jwt
from joserfc.jwk import OctKey

from reflector.adapters.platforms.transport import TIMEOUT_S, PlatformError, PlatformHttp
from reflector.settings import PlatformSettings

PLATFORM = "LiveKit"
SERVER_TOKEN_TTL_S = 600
PARTICIPANT_TOKEN_TTL_S = 6 * 3600


class S3Upload(msgspec.Struct, frozen=True, omit_defaults=True):
    bucket: str
    region: str = ""
    access_key: str = ""
    secret: str = ""
    endpoint: str = ""
    force_path_style: bool = False


class TrackFile(msgspec.Struct, frozen=True, omit_defaults=True):
    """Where an egress writes a track: `filepath` may use LiveKit's {room_name}, {track_id}, {time} templates."""

    filepath: str
    s3: S3Upload | None = None


class _AutoTrackEgress(msgspec.Struct, frozen=True):
    tracks: TrackFile


class _CreateRoom(msgspec.Struct, frozen=True, omit_defaults=True):
    name: str
    empty_timeout: int = 0
    departure_timeout: int = 0
    max_participants: int = 0
    metadata: str = ""
    egress: _AutoTrackEgress | None = None


class LiveKitRoom(msgspec.Struct, frozen=True):
    sid: str
    name: str
    empty_timeout: int = 0
    departure_timeout: int = 0
    max_participants: int = 0
    creation_time: int = 0
    metadata: str = ""
    num_participants: int = 0


class LiveKitParticipant(msgspec.Struct, frozen=True):
    sid: str
    identity: str
    name: str = ""
    state: str | int = ""
    joined_at: int = 0
    metadata: str = ""


class _Participants(msgspec.Struct, frozen=True):
    participants: list[LiveKitParticipant] = []


class _TrackEgress(msgspec.Struct, frozen=True):
    room_name: str
    track_id: str
    file: TrackFile


class EgressInfo(msgspec.Struct, frozen=True):
    egress_id: str
    room_name: str = ""
    room_id: str = ""
    status: str | int = ""
    started_at: int = 0
    ended_at: int = 0
    error: str = ""


class _RoomRef(msgspec.Struct, frozen=True):
    room: str


class _Empty(msgspec.Struct, frozen=True):
    pass


class ParticipantToken(msgspec.Struct, frozen=True):
    identity: str
    token: str


def api_url(livekit_url: str) -> str:
    """LIVEKIT_URL as clients connect to it (ws:// or wss://) turned into the HTTP base of its API."""
    return re.sub(r"^ws(s?)://", r"http\1://", livekit_url.rstrip("/"))


def participant_identity(name: str) -> str:
    """A LiveKit identity unique per join: two people called Ana (or one in two tabs) never collide."""
    slug = re.sub(r"[\W_]+", "-", name.lower()).strip("-")[:40] or "guest"
    return f"{slug}-{secrets.token_hex(3)}"


class LiveKitClient(PlatformHttp):
    def __init__(
        self,
        url: str,
        api_key: str,
        api_secret: str,
        *,
        timeout: float = TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(PLATFORM, api_url(url), {}, timeout=timeout, transport=transport)
        self._api_key = api_key
        self._key = OctKey.import_key(api_secret)

    @classmethod
    def from_settings(cls, platforms: PlatformSettings) -> "LiveKitClient":
        if not (platforms.livekit_url and platforms.livekit_api_key and platforms.livekit_api_secret):
            raise PlatformError(
                PLATFORM, "LiveKit is not configured: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
            )
        return cls(platforms.livekit_url, platforms.livekit_api_key, platforms.livekit_api_secret)

    def sign(self, claims: dict[str, Any], ttl_s: int) -> str:
        now = int(time.time())
        return jwt.encode(
            {"alg": "HS256", "typ": "JWT"}, {"iss": self._api_key, "nbf": now, "exp": now + ttl_s, **claims}, self._key
        )

    def access_token(
        self, room: str, name: str, *, metadata: str = "", ttl_s: int = PARTICIPANT_TOKEN_TTL_S
    ) -> ParticipantToken:
        """A token to join `room` under `name` as a new, unique identity (publish, subscribe, data)."""
        identity = participant_identity(name)
        grants = {"roomJoin": True, "room": room, "canPublish": True, "canSubscribe": True, "canPublishData": True}
        claims = {"sub": identity, "jti": identity, "name": name, "video": grants}
        if metadata:
            claims["metadata"] = metadata
        return ParticipantToken(identity=identity, token=self.sign(claims, ttl_s))

    async def _twirp(
        self, service: str, method: str, body: msgspec.Struct, grants: dict[str, Any], expect: type
    ) -> Any:
        token = self.sign({"video": grants}, SERVER_TOKEN_TTL_S)
        return await self.call(
            "POST",
            f"/twirp/livekit.{service}/{method}",
            body=body,
            headers={"Authorization": f"Bearer {token}"},
            expect=expect,
        )

    async def create_room(
        self,
        name: str,
        *,
        empty_timeout_s: int = 0,
        max_participants: int = 0,
        metadata: str = "",
        track_egress: TrackFile | None = None,
    ) -> LiveKitRoom:
        """Create the room; with `track_egress` LiveKit records every published track there on its own."""
        request = _CreateRoom(
            name=name,
            empty_timeout=empty_timeout_s,
            max_participants=max_participants,
            metadata=metadata,
            egress=_AutoTrackEgress(tracks=track_egress) if track_egress else None,
        )
        return await self._twirp("RoomService", "CreateRoom", request, {"roomCreate": True}, LiveKitRoom)

    async def delete_room(self, name: str) -> None:
        await self._twirp("RoomService", "DeleteRoom", _RoomRef(room=name), {"roomCreate": True}, _Empty)

    async def list_participants(self, room: str) -> list[LiveKitParticipant]:
        answer = await self._twirp(
            "RoomService", "ListParticipants", _RoomRef(room=room), {"roomAdmin": True, "room": room}, _Participants
        )
        return answer.participants

    async def start_track_egress(self, room: str, track_id: str, file: TrackFile) -> EgressInfo:
        """Record one published track (a participant's microphone) to a file; its egress id and state."""
        request = _TrackEgress(room_name=room, track_id=track_id, file=file)
        return await self._twirp("Egress", "StartTrackEgress", request, {"roomRecord": True}, EgressInfo)
