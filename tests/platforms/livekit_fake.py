"""A LiveKit server's Twirp API as documented (https://docs.livekit.io/reference/server/server-apis/):
JSON POSTs to /twirp/livekit.RoomService/* and /twirp/livekit.Egress/*, each authorised by an HS256 JWT from
the API key carrying the `video` grant the method needs; errors in Twirp's `{code, msg}` shape. `join`
adds a participant; `deliver` sends a webhook signed as LiveKit does (a JWT whose sha256 claim is the body's
hash, in Authorization)."""

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from tests.platforms.fake_server import FakePlatform, FakeRequest, Reply
from tests.platforms.signing import send_livekit

API_KEY = "APIfakekey"
API_SECRET = "fake-livekit-secret-of-at-least-32-characters"

# What each method asks of the token's video grant (LiveKit's server-apis reference).
GRANTS = {
    "RoomService/CreateRoom": "roomCreate",
    "RoomService/DeleteRoom": "roomCreate",
    "RoomService/ListRooms": "roomList",
    "RoomService/ListParticipants": "roomAdmin",
    "Egress/StartTrackEgress": "roomRecord",
    "Egress/ListEgress": "roomRecord",
    "Egress/StopEgress": "roomRecord",
}


def _twirp_error(status: int, code: str, msg: str) -> Reply:
    return Reply(status, {"code": code, "msg": msg})


def _public(room: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in room.items() if not k.startswith("_")}


class FakeLiveKit(FakePlatform):
    def __init__(self, api_key: str = API_KEY, api_secret: str = API_SECRET) -> None:
        super().__init__()
        self.api_key = api_key
        self.api_secret = api_secret
        self.rooms: dict[str, dict[str, Any]] = {}
        self.participants: dict[str, list[dict[str, Any]]] = {}
        self.egresses: dict[str, dict[str, Any]] = {}
        self.deliveries: list[int | None] = []
        self.route("POST", r"/twirp/livekit\.(?P<method>RoomService/\w+|Egress/\w+)", self._dispatch)

    async def _dispatch(self, request: FakeRequest) -> Reply:
        method = request.params["method"]
        grant = GRANTS.get(method)
        if grant is None:
            return _twirp_error(404, "bad_route", f"no handler for {method}")
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        try:
            claims = jwt.decode(token, OctKey.import_key(self.api_secret), algorithms=["HS256"]).claims
        except (JoseError, ValueError):
            return _twirp_error(401, "unauthenticated", "invalid token")
        if claims.get("iss") != self.api_key or claims.get("exp", 0) < time.time():
            return _twirp_error(401, "unauthenticated", "invalid API key or expired token")
        if not claims.get("video", {}).get(grant):
            return _twirp_error(403, "permission_denied", f"{method} needs the {grant} grant")
        body = request.json()
        handler = getattr(self, "_" + method.split("/")[1])
        return await handler(body)

    async def _CreateRoom(self, body: dict[str, Any]) -> Reply:
        name = body.get("name")
        if not name:
            return _twirp_error(400, "invalid_argument", "name is required")
        room = self.rooms.get(name)
        if room is None:  # LiveKit answers an existing room's info, as the docs say
            room = {
                "sid": f"RM_{uuid.uuid4().hex[:12]}",
                "name": name,
                "empty_timeout": body.get("empty_timeout", 300),
                "departure_timeout": body.get("departure_timeout", 20),
                "max_participants": body.get("max_participants", 0),
                "creation_time": str(int(time.time())),
                "metadata": body.get("metadata", ""),
                "num_participants": 0,
                "_egress": body.get("egress"),
            }
            self.rooms[name] = room
        return Reply(200, _public(room))

    async def _DeleteRoom(self, body: dict[str, Any]) -> Reply:
        if self.rooms.pop(body.get("room", ""), None) is None:
            return _twirp_error(404, "not_found", "requested room does not exist")
        return Reply(200, {})

    async def _ListRooms(self, body: dict[str, Any]) -> Reply:
        return Reply(
            200, {"rooms": [{k: v for k, v in r.items() if not k.startswith("_")} for r in self.rooms.values()]}
        )

    async def _ListParticipants(self, body: dict[str, Any]) -> Reply:
        if body.get("room") not in self.rooms:
            return _twirp_error(404, "not_found", "requested room does not exist")
        return Reply(200, {"participants": self.participants.get(body["room"], [])})

    async def _StartTrackEgress(self, body: dict[str, Any]) -> Reply:
        room = self.rooms.get(body.get("room_name", ""))
        if room is None:
            return _twirp_error(404, "not_found", "requested room does not exist")
        if not body.get("track_id") or not (body.get("file") or body.get("websocket_url")):
            return _twirp_error(400, "invalid_argument", "track_id and file or websocket_url are required")
        egress = {
            "egress_id": f"EG_{uuid.uuid4().hex[:12]}",
            "room_id": room["sid"],
            "room_name": room["name"],
            "status": "EGRESS_STARTING",
            "started_at": str(time.time_ns()),
            "track": {"track_id": body["track_id"], **body.get("file", {})},
        }
        self.egresses[egress["egress_id"]] = egress
        return Reply(200, egress)

    async def _ListEgress(self, body: dict[str, Any]) -> Reply:
        return Reply(200, {"items": list(self.egresses.values())})

    async def _StopEgress(self, body: dict[str, Any]) -> Reply:
        egress = self.egresses.get(body.get("egress_id", ""))
        if egress is None:
            return _twirp_error(404, "not_found", "egress not found")
        egress["status"] = "EGRESS_COMPLETE"
        return Reply(200, egress)

    # ---- controls ----

    def join(self, room: str, identity: str, name: str) -> dict[str, Any]:
        participant = {
            "sid": f"PA_{uuid.uuid4().hex[:12]}",
            "identity": identity,
            "name": name,
            "state": "ACTIVE",
            "joined_at": str(int(time.time())),
        }
        self.participants.setdefault(room, []).append(participant)
        self.rooms[room]["num_participants"] += 1
        return participant

    def leave(self, room: str, identity: str) -> None:
        people = self.participants.get(room, [])
        people[:] = [p for p in people if p["identity"] != identity]
        self.rooms[room]["num_participants"] = len(people)

    # ---- a call, told to Reflector's webhook as LiveKit tells it ----

    def _event(self, kind: str, room: str, **fields: Any) -> dict[str, Any]:
        info = self.rooms.get(room, {"sid": "", "name": room})
        return {"event": kind, "id": f"EV_{uuid.uuid4().hex[:12]}", "createdAt": str(int(time.time())),
                "room": {"sid": info["sid"], "name": room}, **fields}  # fmt: skip

    async def joined(self, url: str, room: str, identity: str, name: str) -> int | None:
        """`identity` joins under `name` (as its access token says), and the webhook says so."""
        person = self.join(room, identity, name)
        return await self.deliver(url, self._event("participant_joined", room, participant=person))

    async def record_track(
        self, url: str, room: str, identity: str, source: str, recording: Path, started_ns: int
    ) -> str:
        """What the room's auto track egress does for one published track: egress_started, the file written
        to the bucket the room was created with (its filepath template, `.ogg` added), egress_ended with the
        file and when its first sample was recorded. The object's key."""
        egress = self.rooms[room]["_egress"]["tracks"]
        track_id = f"TR_{uuid.uuid4().hex[:12]}"
        key = egress["filepath"].format(room_name=room, publisher_identity=identity, track_source=source,
                                        track_id=track_id) + recording.suffix  # fmt: skip
        info = {"egressId": f"EG_{uuid.uuid4().hex[:12]}", "roomId": self.rooms[room]["sid"], "roomName": room,
                "status": "EGRESS_ACTIVE", "startedAt": str(started_ns)}  # fmt: skip
        await self.deliver(url, self._event("egress_started", room, egressInfo=info))
        s3 = egress["s3"]
        client = boto3.client("s3", endpoint_url=s3["endpoint"], region_name=s3.get("region") or "us-east-1",
                              aws_access_key_id=s3["access_key"], aws_secret_access_key=s3["secret"])  # fmt: skip
        await asyncio.to_thread(client.upload_file, str(recording), s3["bucket"], key)
        size = (await asyncio.to_thread(recording.stat)).st_size
        written = {"filename": key, "location": f"s3://{s3['bucket']}/{key}", "size": str(size),
                   "startedAt": str(started_ns), "endedAt": str(time.time_ns())}  # fmt: skip
        ended = info | {"status": "EGRESS_COMPLETE", "endedAt": str(time.time_ns()), "fileResults": [written]}
        await self.deliver(url, self._event("egress_ended", room, egressInfo=ended))
        return key

    async def finished(self, url: str, room: str) -> int | None:
        """Everyone left: LiveKit closes the room."""
        return await self.deliver(url, self._event("room_finished", room))

    async def deliver(self, url: str, event: dict[str, Any], *, issued_at: int | None = None) -> int | None:
        try:
            status: int | None = (
                await send_livekit(url, event, self.api_key, self.api_secret, issued_at=issued_at)
            ).status_code
        except httpx.HTTPError:
            status = None
        self.deliveries.append(status)
        return status
