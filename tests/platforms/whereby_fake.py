"""Whereby's Embedded REST API as documented (https://docs.whereby.com/reference/whereby-rest-api-reference):
meetings created and deleted, room sessions from the insights API, Bearer key. Whereby's webhooks are set up
in its dashboard, so a test gives the fake a URL and secret, and `join`/`leave` deliver room.client.* signed
over the exact bytes sent."""

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import httpx

from tests.platforms.fake_server import FakePlatform, FakeRequest, Reply
from tests.platforms.signing import send_whereby


class FakeWhereby(FakePlatform):
    def __init__(self, api_key: str = "whereby-test-key", subdomain: str = "reflector-test") -> None:
        super().__init__()
        self.api_key = api_key
        self.subdomain = subdomain
        self.meetings: dict[str, dict[str, Any]] = {}
        self.requested: list[dict[str, Any]] = []  # every POST /meetings body, for assertions
        self.recording_settings: dict[str, dict[str, Any]] = {}  # meeting id -> its `recording` (cloud)
        self.sessions: list[dict[str, Any]] = []
        self.clients: dict[str, int] = {}  # meeting id -> clients in it now
        self.webhook_url: str | None = None
        self.webhook_secret = "whereby-webhook-secret"
        self.deliveries: list[int | None] = []
        self.route("POST", "/v1/meetings", self._create_meeting)
        self.route("GET", "/v1/meetings/(?P<id>[^/]+)", self._get_meeting)
        self.route("DELETE", "/v1/meetings/(?P<id>[^/]+)", self._delete_meeting)
        self.route("GET", "/v1/insights/room-sessions", self._room_sessions)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"

    async def authorize(self, request: FakeRequest) -> Reply | None:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"error": "Unauthorized"})
        return None

    async def _create_meeting(self, request: FakeRequest) -> Reply:
        body = request.json()
        self.requested.append(body)
        if "endDate" not in body:
            return Reply(400, {"error": '"endDate" is required'})
        try:
            datetime.fromisoformat(body["endDate"].replace("Z", "+00:00"))
        except ValueError:
            return Reply(400, {"error": '"endDate" must be a valid ISO 8601 date'})
        if body.get("roomMode", "normal") not in ("normal", "group"):
            return Reply(400, {"error": '"roomMode" must be one of [normal, group]'})
        meeting_id = str(int(time.time() * 1000))[-8:] + uuid.uuid4().hex[:4]
        room = f"/{body.get('roomNamePrefix', '')}{uuid.uuid4()}"
        meeting = {
            "meetingId": meeting_id,
            "roomName": room,
            "roomUrl": f"https://{self.subdomain}.whereby.com{room}",
            "startDate": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "endDate": body["endDate"],
        }
        if "hostRoomUrl" in body.get("fields", []):
            meeting["hostRoomUrl"] = f"{meeting['roomUrl']}?roomKey={uuid.uuid4().hex}"
        self.meetings[meeting_id] = meeting
        if body.get("recording"):
            self.recording_settings[meeting_id] = body["recording"]
        return Reply(201, meeting)

    async def _get_meeting(self, request: FakeRequest) -> Reply:
        meeting = self.meetings.get(request.params["id"])
        return Reply(200, meeting) if meeting else Reply(404, {"error": "Meeting not found"})

    async def _delete_meeting(self, request: FakeRequest) -> Reply:
        if self.meetings.pop(request.params["id"], None) is None:
            return Reply(404, {"error": "Meeting not found"})
        return Reply(204)

    async def _room_sessions(self, request: FakeRequest) -> Reply:
        room = request.query.get("roomName")
        if not room:
            return Reply(400, {"error": '"roomName" is required'})
        results = [s for s in self.sessions if s["roomName"] == room]
        return Reply(200, {"results": results, "cursor": None})

    # ---- controls ----

    async def join(self, meeting_id: str, display_name: str) -> dict[str, Any]:
        meeting = self.meetings[meeting_id]
        self.clients[meeting_id] = self.clients.get(meeting_id, 0) + 1
        if self.clients[meeting_id] == 1:
            now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            self.sessions.append(
                {"roomSessionId": str(uuid.uuid4()), "roomName": meeting["roomName"], "startedAt": now, "endedAt": None}
            )
        return await self._client_event("room.client.joined", meeting, display_name)

    async def leave(self, meeting_id: str, display_name: str) -> dict[str, Any]:
        meeting = self.meetings[meeting_id]
        self.clients[meeting_id] -= 1
        if self.clients[meeting_id] == 0:
            session = next(s for s in reversed(self.sessions) if s["roomName"] == meeting["roomName"])
            session["endedAt"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return await self._client_event("room.client.left", meeting, display_name)

    async def _client_event(self, kind: str, meeting: dict[str, Any], display_name: str) -> dict[str, Any]:
        event = {
            "apiVersion": "1.0",
            "id": str(uuid.uuid4()),
            "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "type": kind,
            "data": {
                "meetingId": meeting["meetingId"],
                "roomName": meeting["roomName"],
                "participantId": str(uuid.uuid4()),
                "displayName": display_name,
                "roleName": "visitor",
                "numClients": self.clients[meeting["meetingId"]],
            },
        }
        if self.webhook_url:
            await self.deliver(self.webhook_url, event)
        return event

    async def record(self, meeting_id: str, mp4: Path, *, started_at: datetime, s3_endpoint: str) -> str:
        """Whereby's cloud recording of the meeting, as it writes one: the MP4 put in the bucket the meeting was
        created with (`recording.destination`), with the keys it was given, named `{room}-{ISO second}.mp4`;
        the bucket's notifications do the rest. The object's key."""
        destination = self.recording_settings[meeting_id]["destination"]
        key = f"{self.meetings[meeting_id]['roomName'].lstrip('/')}-{started_at:%Y-%m-%dT%H:%M:%S}Z.mp4"
        s3 = boto3.client(
            "s3",
            endpoint_url=s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id=destination["accessKeyId"],
            aws_secret_access_key=destination["accessKeySecret"],
        )
        await asyncio.to_thread(s3.upload_file, str(mp4), destination["bucket"], key)
        return key

    async def deliver(self, url: str, event: dict[str, Any]) -> int | None:
        """Send `event` signed to `url`; Whereby writes non-ASCII names as UTF-8, and signs exactly those bytes."""
        try:
            status: int | None = (await send_whereby(url, event, self.webhook_secret)).status_code
        except httpx.HTTPError:
            status = None
        self.deliveries.append(status)
        return status
