"""Zulip's REST API as documented (https://zulip.com/api/send-message, /api/update-message,
/api/get-streams), served on 127.0.0.1 for a test: HTTP basic auth with the bot's e-mail and API key, form
bodies, `{"result": ...}` answers. It keeps every message posted and its edits, and a test can make it
refuse edits as an organisation's message edit window does, or answer posts 503 for a while."""

import base64
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from tests.platforms.fake_server import FakePlatform, FakeRequest, Reply

BOT_EMAIL = "reflector-bot@zulip.example.org"
API_KEY = "zulip-test-api-key"
# Zulip's answer to an edit past the organisation's edit window (zerver/actions/message_edit.py).
EDIT_WINDOW_PASSED = "The time limit for editing this message has passed"


@dataclass
class Message:
    id: int
    stream: str
    topic: str
    content: str
    edits: list[str] = field(default_factory=list)  # earlier contents, oldest first


class FakeZulip(FakePlatform):
    def __init__(self, streams: tuple[str, ...] = ("general", "meetings", "engineering")) -> None:
        super().__init__()
        self.streams = {name: number for number, name in enumerate(streams, start=1)}
        self.messages: dict[int, Message] = {}
        self.refuse_edits = False  # as if every message were past the edit window
        self.outages = 0  # the next this many posts are answered 503, as a Zulip restarting
        self._next_id = 100
        self.route("POST", "/api/v1/messages", self._send)
        self.route("PATCH", "/api/v1/messages/(?P<id>[0-9]+)", self._edit)
        self.route("GET", "/api/v1/streams", self._streams)
        self.route("GET", "/api/v1/users/me/(?P<id>[0-9]+)/topics", self._topics)

    async def authorize(self, request: FakeRequest) -> Reply | None:
        expected = base64.b64encode(f"{BOT_EMAIL}:{API_KEY}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return Reply(401, {"result": "error", "msg": "Invalid API key", "code": "INVALID_API_KEY"})
        return None

    def in_stream(self, stream: str, topic: str | None = None) -> list[Message]:
        return [m for m in self.messages.values() if m.stream == stream and topic in (None, m.topic)]

    async def _send(self, request: FakeRequest) -> Reply:
        form = dict(parse_qsl(request.body.decode()))
        if self.outages > 0:
            self.outages -= 1
            return Reply(503, {"result": "error", "msg": "Service unavailable"})
        if form.get("type") not in ("stream", "channel"):
            return _error("Invalid message type")
        if form.get("to") not in self.streams:
            return _error(f"Stream '{form.get('to')}' does not exist", code="STREAM_DOES_NOT_EXIST")
        if not form.get("content"):
            return _error("Message must not be empty")
        self._next_id += 1
        message = Message(self._next_id, form["to"], form.get("topic", ""), form["content"])
        self.messages[message.id] = message
        return Reply(200, {"result": "success", "msg": "", "id": message.id})

    async def _edit(self, request: FakeRequest) -> Reply:
        form = dict(parse_qsl(request.body.decode()))
        message = self.messages.get(int(request.params["id"]))
        if message is None:
            return _error("Invalid message(s)")
        if self.refuse_edits:
            return _error(EDIT_WINDOW_PASSED)
        if "content" in form:
            message.edits.append(message.content)
            message.content = form["content"]
        if "topic" in form:
            message.topic = form["topic"]
        return Reply(200, {"result": "success", "msg": ""})

    async def _topics(self, request: FakeRequest) -> Reply:
        names = {number: name for name, number in self.streams.items()}
        stream = names.get(int(request.params["id"]))
        if stream is None:
            return _error("Invalid channel ID", code="BAD_REQUEST")
        newest: dict[str, int] = {}
        for message in self.in_stream(stream):
            newest[message.topic] = max(newest.get(message.topic, 0), message.id)
        topics = [{"name": n, "max_id": i} for n, i in sorted(newest.items(), key=lambda item: -item[1])]
        return Reply(200, {"result": "success", "msg": "", "topics": topics})

    async def _streams(self, request: FakeRequest) -> Reply:
        streams = [{"stream_id": number, "name": name} for name, number in self.streams.items()]
        return Reply(200, {"result": "success", "msg": "", "streams": streams})


def _error(msg: str, *, code: str = "BAD_REQUEST") -> Reply:
    return Reply(400, {"result": "error", "msg": msg, "code": code})
