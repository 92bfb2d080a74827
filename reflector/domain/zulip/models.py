"""What the Zulip module keeps and the port it posts through."""

from datetime import datetime
from typing import ClassVar, Protocol

import msgspec

from reflector.adapters.zulip_http import Stream, Topic
from reflector.domain.errors import DomainError


class ZulipPostView(msgspec.Struct, frozen=True):
    """The message posted for a transcript to one stream and topic."""

    id: str
    transcript_id: str
    stream: str
    topic: str
    message_id: int
    include_topics: bool
    posted_at: datetime
    updated_at: datetime


class ZulipClient(Protocol):
    """A Zulip bot (reflector.adapters.zulip_http.ZulipHttp), wired by the composition root."""

    async def send_stream_message(self, stream: str, topic: str, content: str) -> int: ...

    async def edit_message(self, message_id: int, content: str) -> None: ...

    async def streams(self) -> list[Stream]: ...

    async def topics(self, stream_id: int) -> list[Topic]: ...


class ZulipNotConfigured(DomainError):
    # The caller's request, not the server, is what cannot be done here: 400 as any refused request.
    status: ClassVar[int] = 400

    def __init__(self) -> None:
        super().__init__("Zulip is not configured on this server: set ZULIP_URL, ZULIP_BOT_EMAIL and ZULIP_API_KEY")


class ZulipFailed(DomainError):
    """Zulip refused the message or could not be reached; the sentence says what it answered."""

    status: ClassVar[int] = 502


class NoStream(DomainError):
    status: ClassVar[int] = 422

    def __init__(self) -> None:
        super().__init__("Name the Zulip stream to post to")
