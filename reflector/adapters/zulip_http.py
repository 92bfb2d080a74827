"""Zulip's REST API as documented (https://zulip.com/api/): a stream message sent (POST /api/v1/messages) and
edited (PATCH /api/v1/messages/{id}), and the streams listed, as a bot (HTTP basic auth: the bot's e-mail
and API key). The base URL comes from the settings, http included, so a test can point it at a local
server. Zulip answers `{"result": "success", ...}` or `{"result": "error", "msg": ..., "code": ...}`; an
error becomes ZulipError carrying both, so the caller can tell an edit Zulip refuses from an outage."""

from typing import Any

import httpx
import msgspec

TIMEOUT_S = 15.0


class ZulipError(Exception):
    """Zulip refused a call or could not be reached; the message says which, and what it answered.

    `status` is None when there was no answer; `code` and `msg` are Zulip's own (e.g. "BAD_REQUEST",
    "The time limit for editing this message has passed")."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "", msg: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.msg = msg

    @property
    def refused(self) -> bool:
        """Zulip answered and said no to this request (as opposed to being away or refusing the bot)."""
        return self.status is not None and 400 <= self.status < 500 and self.status not in (401, 403)


class Stream(msgspec.Struct, frozen=True):
    stream_id: int
    name: str


class Topic(msgspec.Struct, frozen=True):
    name: str
    max_id: int = 0  # the newest message's id in it


class _Answer(msgspec.Struct):
    result: str = ""
    msg: str = ""
    code: str = ""
    id: int | None = None
    streams: list[Stream] = []
    topics: list[Topic] = []


class ZulipHttp:
    """A Zulip bot's client, one connection pool for the process."""

    def __init__(
        self,
        base_url: str,
        bot_email: str,
        api_key: str,
        *,
        timeout_s: float = TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/api/v1",
            auth=httpx.BasicAuth(bot_email, api_key),
            timeout=timeout_s,
            transport=transport,
        )

    async def send_stream_message(self, stream: str, topic: str, content: str) -> int:
        """Post `content` to `stream` under `topic`; the new message's id."""
        answer = await self._call(
            "POST", "/messages", {"type": "stream", "to": stream, "topic": topic, "content": content}
        )
        if answer.id is None:
            raise ZulipError("Zulip accepted the message but gave no id for it")
        return answer.id

    async def edit_message(self, message_id: int, content: str) -> None:
        """Replace the content of a message the bot posted (its stream and topic stay)."""
        await self._call("PATCH", f"/messages/{message_id}", {"content": content})

    async def streams(self) -> list[Stream]:
        """The streams the bot can post to (public ones and those it is subscribed to)."""
        return (await self._call("GET", "/streams", None)).streams

    async def topics(self, stream_id: int) -> list[Topic]:
        """The topics of a stream, newest first (GET /users/me/{stream_id}/topics)."""
        return (await self._call("GET", f"/users/me/{stream_id}/topics", None)).topics

    async def _call(self, method: str, path: str, form: dict[str, Any] | None) -> _Answer:
        what = f"{method} {path}"
        try:
            response = await self._client.request(method, path, data=form)
        except httpx.TimeoutException as exc:
            raise ZulipError(f"Zulip did not answer {what} in time") from exc
        except httpx.TransportError as exc:
            raise ZulipError(f"Zulip could not be reached ({type(exc).__name__} {exc})".strip()) from exc
        try:
            answer = msgspec.json.decode(response.content, type=_Answer, strict=False)
        except msgspec.DecodeError:
            answer = _Answer(msg=response.text[:300])
        if response.status_code in (401, 403):
            raise ZulipError(
                f"Zulip refused the bot's credentials (HTTP {response.status_code}: {answer.msg}): check "
                "ZULIP_BOT_EMAIL and ZULIP_API_KEY",
                status=response.status_code,
                code=answer.code,
                msg=answer.msg,
            )
        if response.status_code >= 400 or answer.result != "success":
            raise ZulipError(
                f"Zulip answered {what} with HTTP {response.status_code}: {answer.msg or 'no reason given'}",
                status=response.status_code,
                code=answer.code,
                msg=answer.msg,
            )
        return answer

    async def aclose(self) -> None:
        await self._client.aclose()
