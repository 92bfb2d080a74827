"""A Daily.co REST API as documented (https://docs.daily.co/reference/rest-api), kept in memory: rooms,
presence, meeting tokens, recordings started, listed, fetched and linked, meeting participants, and webhooks
whose creation first POSTs {"test":"test"} and which turn FAILED after 3 failed deliveries. Controls (plain
methods, and the same under /_fake/ over HTTP) let a test join and leave participants, finish recordings and
deliver signed events."""

import asyncio
import base64
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.platforms.fake_server import FakePlatform, FakeRequest, Reply
from tests.platforms.signing import body_of, send_daily

FAILURES_BEFORE_FAILED = 3
JSON = {"Content-Type": "application/json"}


def _error(status: int, error: str, info: str) -> Reply:
    return Reply(status, {"error": error, "info": info})


class FakeDaily(FakePlatform):
    def __init__(self, api_key: str = "daily-test-key", domain: str = "reflector-test") -> None:
        super().__init__()
        self.api_key = api_key
        self.domain = domain
        self.rooms: dict[str, dict[str, Any]] = {}
        self.presence: dict[str, list[dict[str, Any]]] = {}
        self.meeting_sessions: dict[str, str] = {}  # room name -> its current mtgSessionId
        self.participants: dict[str, list[dict[str, Any]]] = {}  # mtgSessionId -> who took part
        self.meeting_rooms: dict[str, str] = {}  # mtgSessionId -> room name
        self._sending: set[asyncio.Task[Any]] = set()
        self.tokens: list[dict[str, Any]] = []  # the properties of every token asked for
        self.recordings: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.deliveries: list[tuple[str, int | None]] = []  # (event type, status or None when unreachable)
        for method, pattern, handler in (
            ("POST", "/v1/rooms", self._create_room),
            ("GET", "/v1/rooms/(?P<name>[^/]+)", self._get_room),
            ("DELETE", "/v1/rooms/(?P<name>[^/]+)", self._delete_room),
            ("POST", "/v1/rooms/(?P<name>[^/]+)", self._update_room),
            ("GET", "/v1/rooms/(?P<name>[^/]+)/presence", self._presence),
            ("POST", "/v1/rooms/(?P<name>[^/]+)/recordings/start", self._start_recording),
            ("POST", "/v1/meeting-tokens", self._meeting_token),
            ("GET", "/v1/recordings", self._list_recordings),
            ("GET", "/v1/recordings/(?P<id>[^/]+)", self._get_recording),
            ("GET", "/v1/recordings/(?P<id>[^/]+)/access-link", self._access_link),
            ("GET", "/v1/meetings/(?P<id>[^/]+)", self._meeting),
            ("GET", "/v1/meetings/(?P<id>[^/]+)/participants", self._meeting_participants),
            ("GET", "/v1/webhooks", self._list_webhooks),
            ("POST", "/v1/webhooks", self._create_webhook),
            ("GET", "/v1/webhooks/(?P<id>[^/]+)", self._get_webhook),
            ("POST", "/v1/webhooks/(?P<id>[^/]+)", self._update_webhook),
            ("DELETE", "/v1/webhooks/(?P<id>[^/]+)", self._delete_webhook),
            # Controls over HTTP, for a test driving Reflector in another process (no API key: loopback only).
            ("POST", "/_fake/rooms/(?P<name>[^/]+)/join", self._control_join),
            ("POST", "/_fake/rooms/(?P<name>[^/]+)/leave/(?P<session>[^/]+)", self._control_leave),
            ("POST", "/_fake/recordings/(?P<id>[^/]+)/finish", self._control_finish),
        ):
            self.route(method, pattern, handler)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"

    async def authorize(self, request: FakeRequest) -> Reply | None:
        if request.path.startswith("/_fake/"):
            return None
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "authorization-header-error", "Bearer token is missing or wrong")
        return None

    # ---- rooms ----

    async def _create_room(self, request: FakeRequest) -> Reply:
        body = request.json()
        name = body.get("name") or secrets.token_hex(6)
        if name in self.rooms:
            return _error(400, "invalid-request-error", f"a room named {name} already exists")
        if body.get("privacy", "public") not in ("public", "private"):
            return _error(400, "invalid-request-error", "privacy must be public or private")
        room = {
            "id": str(uuid.uuid4()),
            "name": name,
            "api_created": True,
            "privacy": body.get("privacy", "public"),
            "url": f"https://{self.domain}.daily.co/{name}",
            "created_at": datetime.now(UTC).isoformat(),
            "config": body.get("properties", {}),
        }
        self.rooms[name] = room
        return Reply(200, room)

    async def _get_room(self, request: FakeRequest) -> Reply:
        room = self.rooms.get(request.params["name"])
        return Reply(200, room) if room else _error(404, "not-found", f"room {request.params['name']} not found")

    async def _update_room(self, request: FakeRequest) -> Reply:
        room = self.rooms.get(request.params["name"])
        if room is None:
            return _error(404, "not-found", f"room {request.params['name']} not found")
        room["config"] = {**room["config"], **request.json().get("properties", {})}
        return Reply(200, room)

    async def _delete_room(self, request: FakeRequest) -> Reply:
        name = request.params["name"]
        if self.rooms.pop(name, None) is None:
            return _error(404, "not-found", f"room {name} not found")
        return Reply(200, {"deleted": True, "name": name})

    async def _presence(self, request: FakeRequest) -> Reply:
        people = self.presence.get(request.params["name"], [])
        now = time.time()
        data = [{**{k: v for k, v in p.items() if k != "_joined"}, "duration": int(now - p["_joined"])} for p in people]
        return Reply(200, {"total_count": len(data), "data": data})

    # ---- tokens ----

    async def _meeting_token(self, request: FakeRequest) -> Reply:
        properties = request.json().get("properties", {})
        if properties.get("room_name") not in self.rooms:
            return _error(400, "invalid-request-error", "properties.room_name names no room")
        self.tokens.append(properties)
        return Reply(200, {"token": f"daily-token-{len(self.tokens)}-{secrets.token_hex(8)}"})

    # ---- recordings ----

    async def _start_recording(self, request: FakeRequest) -> Reply:
        name = request.params["name"]
        body = request.json()
        kind, instance = body.get("type", "cloud"), body.get("instanceId")
        if name not in self.rooms:
            return _error(404, "not-found", f"room {name} not found")
        if not self.presence.get(name):
            return _error(400, "invalid-request-error", f"{name} does not seem to be hosting a call currently")
        for rec in self.recordings.values():
            if rec["room_name"] == name and rec["_instance"] == instance and rec["status"] == "in-progress":
                return _error(400, "invalid-request-error", f"{name} has an active stream for instance {instance}")
        recording_id = str(uuid.uuid4())
        self.recordings[recording_id] = {
            "id": recording_id,
            "room_name": name,
            "start_ts": int(time.time()),
            "status": "in-progress",
            "duration": 0,
            "max_participants": len(self.presence[name]),
            "s3key": None,
            "s3": None,
            "tracks": [],
            "mtgSessionId": self.meeting_sessions.get(name),
            "_type": kind,
            "_instance": instance,
        }
        started = {"action": "start-cloud-recording", "recording_id": recording_id, "room_name": name}
        self._in_background(self.deliver("recording.started", started | {"type": kind, "start_ts": time.time()}))
        return Reply(200, {"recordingId": recording_id})

    def _public(self, recording: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in recording.items() if not k.startswith("_")}  # Daily never says the type

    async def _list_recordings(self, request: FakeRequest) -> Reply:
        room = request.query.get("room_name")
        found = [r for r in self.recordings.values() if room is None or r["room_name"] == room]
        found.sort(key=lambda r: r["start_ts"], reverse=True)
        if after := request.query.get("starting_after"):
            ids = [r["id"] for r in found]
            found = found[ids.index(after) + 1 :] if after in ids else []
        limit = int(request.query.get("limit", 100))
        return Reply(200, {"total_count": len(found), "data": [self._public(r) for r in found[:limit]]})

    async def _get_recording(self, request: FakeRequest) -> Reply:
        recording = self.recordings.get(request.params["id"])
        if recording is None:
            return _error(404, "not-found", "recording not found")
        return Reply(200, self._public(recording))

    async def _access_link(self, request: FakeRequest) -> Reply:
        recording = self.recordings.get(request.params["id"])
        if recording is None:
            return _error(404, "not-found", "recording not found")
        expires = int(time.time()) + 3600
        link = f"{self.base_url}/downloads/{recording['id']}.mp4?expires={expires}"
        return Reply(200, {"download_link": link, "expires": expires})

    async def _meeting(self, request: FakeRequest) -> Reply:
        meeting_id = request.params["id"]
        people = self.participants.get(meeting_id)
        if people is None:
            return _error(404, "not-found", "meeting not found")
        room = self.meeting_rooms[meeting_id]
        started = min(p["join_time"] for p in people)
        meeting = {
            "id": meeting_id,
            "room": room,
            "start_time": started,
            "duration": round(time.time() - started),
            "ongoing": self.meeting_sessions.get(room) == meeting_id,
            "max_participants": len(people),
        }
        return Reply(200, meeting)

    async def _meeting_participants(self, request: FakeRequest) -> Reply:
        people = self.participants.get(request.params["id"])
        if people is None:
            return _error(404, "not-found", "meeting not found")
        return Reply(200, {"data": people})

    # ---- webhooks ----

    async def _list_webhooks(self, request: FakeRequest) -> Reply:
        return Reply(200, list(self.webhooks.values()))

    async def _get_webhook(self, request: FakeRequest) -> Reply:
        hook = self.webhooks.get(request.params["id"])
        return Reply(200, hook) if hook else _error(404, "not-found", "webhook not found")

    async def _create_webhook(self, request: FakeRequest) -> Reply:
        body = request.json()
        url = body.get("url")
        if not url:
            return _error(400, "invalid-request-error", "url is required")
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(url, content=b'{"test":"test"}', headers=JSON)
        except httpx.HTTPError as exc:
            return _error(400, "invalid-request-error", f"non-200 status code returned from webhook endpoint ({exc})")
        if answer.status_code != 200:
            info = f"non-200 status code returned from webhook endpoint, {answer.status_code}"
            return _error(400, "invalid-request-error", info)
        now = datetime.now(UTC).isoformat()
        hook = {
            "uuid": str(uuid.uuid4()),
            "url": url,
            "hmac": body.get("hmac") or base64.b64encode(secrets.token_bytes(32)).decode(),
            "basicAuth": body.get("basicAuth"),
            "retryType": body.get("retryType", "circuit-breaker"),
            "eventTypes": body.get("eventTypes", []),
            "state": "ACTIVE",
            "failedCount": 0,
            "lastMomentPushed": None,
            "domainId": self.domain,
            "createdAt": now,
            "updatedAt": now,
        }
        self.webhooks[hook["uuid"]] = hook
        return Reply(200, hook)

    async def _update_webhook(self, request: FakeRequest) -> Reply:
        hook = self.webhooks.get(request.params["id"])
        if hook is None:
            return _error(404, "not-found", "webhook not found")
        body = request.json()
        for field in ("url", "hmac", "eventTypes", "basicAuth", "retryType"):
            if body.get(field) is not None:
                hook[field] = body[field]
        hook.update(state="ACTIVE", failedCount=0, updatedAt=datetime.now(UTC).isoformat())
        return Reply(200, hook)

    async def _delete_webhook(self, request: FakeRequest) -> Reply:
        if self.webhooks.pop(request.params["id"], None) is None:
            return _error(404, "not-found", "webhook not found")
        return Reply(200, {"deleted": True})

    def _in_background(self, sending: Any) -> None:
        """Daily sends a webhook after answering the request that caused it."""
        task = asyncio.get_running_loop().create_task(sending)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    # ---- controls ----

    async def _control_join(self, request: FakeRequest) -> Reply:
        body = request.json()
        name = request.params["name"]
        if name not in self.rooms:
            return _error(404, "not-found", f"room {name} not found")
        session = await self.join(name, body["user_name"], user_id=body.get("user_id"), owner=body.get("owner", False))
        return Reply(200, {"session_id": session})

    async def _control_leave(self, request: FakeRequest) -> Reply:
        await self.leave(request.params["name"], request.params["session"])
        return Reply(200, {})

    async def _control_finish(self, request: FakeRequest) -> Reply:
        if request.params["id"] not in self.recordings:
            return _error(404, "not-found", "recording not found")
        event = await self.finish_recording(request.params["id"], request.json().get("tracks"))
        return Reply(200, event)

    async def deliver(self, event_type: str, payload: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        """Send `event_type` signed to every ACTIVE webhook subscribed to it, as Daily would; the envelope."""
        event = {
            "version": "1.0.0",
            "type": event_type,
            "id": event_id or f"evt-{uuid.uuid4()}",
            "payload": payload,
            "event_ts": time.time(),
        }
        body = body_of(event)
        for hook in list(self.webhooks.values()):
            if hook["state"] != "ACTIVE" or (hook["eventTypes"] and event_type not in hook["eventTypes"]):
                continue
            await self._post(hook, event_type, body)
        return event

    async def _post(self, hook: dict[str, Any], event_type: str, body: bytes) -> None:
        status: int | None
        try:
            status = (await send_daily(hook["url"], body, hook["hmac"])).status_code
        except httpx.HTTPError:
            status = None
        self.deliveries.append((event_type, status))
        if status is not None and 200 <= status < 300:
            hook.update(failedCount=0, lastMomentPushed=datetime.now(UTC).isoformat())
            return
        hook["failedCount"] += 1
        if hook["failedCount"] >= FAILURES_BEFORE_FAILED:
            hook["state"] = "FAILED"

    async def join(
        self, room: str, user_name: str, *, user_id: str | None = None, owner: bool = False, notify: bool = True
    ) -> str:
        """A participant joins `room`'s call: presence, the meeting's participants, participant.joined
        (`notify=False`: the webhook is lost, as one can be)."""
        session_id = str(uuid.uuid4())
        meeting = self.meeting_sessions.setdefault(room, str(uuid.uuid4()))
        self.meeting_rooms[meeting] = room
        joined = time.time()
        self.presence.setdefault(room, []).append(
            {
                "room": room,
                "id": session_id,
                "userId": user_id,
                "userName": user_name,
                "joinTime": datetime.fromtimestamp(joined, UTC).isoformat(),
                "_joined": joined,
            }
        )
        self.participants.setdefault(meeting, []).append(
            {"user_id": user_id, "participant_id": session_id, "user_name": user_name, "join_time": joined}
            | {"duration": 0}
        )
        if not notify:
            return session_id
        await self.deliver(
            "participant.joined",
            {
                "room": room,
                "session_id": session_id,
                "user_id": user_id,
                "user_name": user_name,
                "owner": owner,
                "joined_at": joined,
            },
        )
        return session_id

    async def leave(self, room: str, session_id: str, *, notify: bool = True) -> None:
        people = self.presence.get(room, [])
        person = next(p for p in people if p["id"] == session_id)
        people.remove(person)
        duration = time.time() - person["_joined"]
        for entry in self.participants.get(self.meeting_sessions.get(room, ""), []):
            if entry["participant_id"] == session_id:
                entry["duration"] = round(duration)
        if not people:
            self.meeting_sessions.pop(room, None)
        if not notify:
            return
        await self.deliver(
            "participant.left",
            {
                "room": room,
                "session_id": session_id,
                "user_id": person["userId"],
                "user_name": person["userName"],
                "joined_at": person["_joined"],
                "duration": duration,
            },
        )

    async def finish_recording(self, recording_id: str, tracks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The recording stops and is written: status finished, then recording.ready-to-download."""
        rec = self.recordings[recording_id]
        rec.update(status="finished", duration=max(1, int(time.time() - rec["start_ts"])), tracks=tracks or [])
        if rec["_type"] == "cloud":
            rec["s3key"] = f"{self.domain}/{rec['room_name']}/{int(rec['start_ts'] * 1000)}"
        payload = {
            "type": rec["_type"],
            "recording_id": recording_id,
            "room_name": rec["room_name"],
            "start_ts": rec["start_ts"],
            "status": "finished",
            "max_participants": rec["max_participants"],
            "duration": rec["duration"],
            "s3_key": rec["s3key"],
        }
        if rec["_type"] == "raw-tracks":
            payload["tracks"] = rec["tracks"]
        return await self.deliver("recording.ready-to-download", payload)
