"""Transcripts posted to Zulip: on demand (the API and the transcript page), automatically when a room with
`zulip_auto_post` and a stream gets a finished transcript or a failed run (told by the processing module as
a run listener, posted by a worker's job and retried while Zulip is away), and again after a person edits
the title or summary.

One message per (transcript, stream, topic): sharing again to the same place edits it; another stream or
topic gets a message of its own (Reflector edits its one message in place, moving it out of the stream it
was shared to). An edit Zulip refuses (the organisation's edit window has passed, the message was deleted)
falls back to a new post, whose id is kept instead.
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import structlog

from reflector.adapters.zulip_http import Stream, Topic, ZulipError
from reflector.domain.errors import NotFound
from reflector.domain.rooms.service import RoomService
from reflector.domain.transcripts.service import TranscriptService
from reflector.domain.zulip import repository as repo
from reflector.domain.zulip.jobs import POST
from reflector.domain.zulip.message import failure_message, transcript_message
from reflector.domain.zulip.models import NoStream, ZulipClient, ZulipFailed, ZulipNotConfigured, ZulipPostView

log = structlog.get_logger(__name__)
T = TypeVar("T")


class JobQueue(Protocol):
    """The worker queue (reflector.adapters.queue.ArqJobQueue)."""

    async def enqueue(self, policy: Any, *args: Any, job_id: str, defer_s: float = 0) -> None: ...


def _temporary(failure: ZulipFailed) -> bool:
    """Whether Zulip may take the same post later: it was away, or answered 5xx or 429."""
    cause = failure.__cause__
    if not isinstance(cause, ZulipError):
        return True
    return cause.status is None or cause.status >= 500 or cause.status == 429


class ZulipService:
    def __init__(
        self,
        transcripts: TranscriptService,
        rooms: RoomService,
        client: ZulipClient | None,
        base_url: str,
        queue: JobQueue | None = None,
        retry_delays: tuple[float, ...] = (),
    ) -> None:
        self._transcripts = transcripts
        self._rooms = rooms
        self._client = client
        self._base_url = base_url
        self._queue = queue  # where a room's automatic posts wait for a worker (None: not posted)
        self._retry_delays = retry_delays

    @property
    def configured(self) -> bool:
        return self._client is not None

    async def streams(self) -> list[Stream]:
        """The streams the bot may post to, for a person choosing one."""
        return await self._ask(lambda client: client.streams())

    async def topics(self, stream_id: int) -> list[Topic]:
        return await self._ask(lambda client: client.topics(stream_id))

    async def _ask(self, call: Callable[[ZulipClient], Awaitable[list[T]]]) -> list[T]:
        if self._client is None:
            raise ZulipNotConfigured()
        try:
            return await call(self._client)
        except ZulipError as exc:
            raise ZulipFailed(str(exc)) from exc

    async def posts(self, transcript_id: str) -> list[ZulipPostView]:
        return await repo.of_transcript(transcript_id)

    async def share(self, transcript_id: str, stream: str, topic: str, *, include_topics: bool) -> ZulipPostView:
        """The transcript's message in `stream` under `topic`: the one posted there before, edited, or a new one."""
        client = self._client
        if client is None:
            raise ZulipNotConfigured()
        stream, topic = stream.strip(), topic.strip()
        if not stream:
            raise NoStream()
        content = await self._content(transcript_id, include_topics)
        return await self._place(client, transcript_id, stream, topic, content, include_topics=include_topics)

    async def _place(
        self, client: ZulipClient, transcript_id: str, stream: str, topic: str, content: str, *, include_topics: bool
    ) -> ZulipPostView:
        """`content` as the transcript's message in `stream` under `topic`: edited there, or posted anew."""
        earlier = await repo.find(transcript_id, stream, topic)
        if earlier is not None and await self._edited(client, earlier, content):
            await repo.edited(earlier.id, include_topics)
            log.info("zulip.edited", transcript_id=transcript_id, message_id=earlier.message_id)
            return await repo.find(transcript_id, stream, topic) or earlier
        try:
            message_id = await client.send_stream_message(stream, topic, content)
        except ZulipError as exc:
            log.warning("zulip.post_failed", transcript_id=transcript_id, stream=stream, error=str(exc))
            raise ZulipFailed(str(exc)) from exc
        log.info("zulip.posted", transcript_id=transcript_id, stream=stream, message_id=message_id)
        return await repo.remember(transcript_id, stream, topic, message_id, include_topics)

    async def _edited(self, client: ZulipClient, post: ZulipPostView, content: str) -> bool:
        """Whether Zulip took the edit; False when it refused this one (a new message is posted instead)."""
        try:
            await client.edit_message(post.message_id, content)
        except ZulipError as exc:
            if not exc.refused:  # Zulip away or the bot refused: a new post would fail the same way
                raise ZulipFailed(str(exc)) from exc
            log.info("zulip.edit_refused", message_id=post.message_id, code=exc.code, reason=exc.msg)
            return False
        return True

    async def _content(self, transcript_id: str, include_topics: bool) -> str:
        transcript = await self._transcripts.get(transcript_id)
        topics = await self._transcripts.topics(transcript_id) if include_topics else None
        return transcript_message(transcript, topics, base_url=self._base_url)

    # --- told by others -----------------------------------------------------------------------------------

    async def run_finished(self, transcript_id: str, *, succeeded: bool, error: str) -> None:
        """A run listener: a room's finished transcript goes to the room's stream when it asks for it; a failed
        run, a notice there, which the transcript's message replaces once a retry succeeds. Posted by a
        worker's job (`post_for_room`), retried while Zulip is away."""
        if self._client is None or self._queue is None or await self._place_of(transcript_id) is None:
            return
        post_id = uuid.uuid4().hex  # one per post, the same over its attempts
        await self._queue.enqueue(POST, post_id, transcript_id, succeeded, error, 1, job_id=f"zulip:{post_id}:1")
        log.info("zulip.queued", transcript_id=transcript_id, post_id=post_id, failure_notice=not succeeded)

    async def _place_of(self, transcript_id: str) -> tuple[str, str] | None:
        """The stream and topic of the transcript's room, when it posts its transcripts; else None."""
        transcript = await self._transcripts.get(transcript_id)
        if transcript.room_id is None:
            return None
        try:
            room = await self._rooms.get(transcript.room_id)
        except NotFound:
            return None
        if not (room.zulip_auto_post and room.zulip_stream):
            return None
        # A room without a topic posts under its own name, so its meetings stay together.
        return room.zulip_stream.strip(), (room.zulip_topic or room.name).strip()

    async def post_for_room(
        self, post_id: str, transcript_id: str, *, succeeded: bool, error: str, attempt: int
    ) -> str:
        """One attempt at a room's automatic post (the job); what it came to: posted, retry, failed, skipped."""
        client = self._client
        fields = dict(post_id=post_id, transcript_id=transcript_id, attempt=attempt)
        try:
            transcript = await self._transcripts.get(transcript_id)
            place = await self._place_of(transcript_id)
        except NotFound:
            place = None
        # A notice overtaken by a successful retry (or a result by a new failure) is not posted over it.
        if client is None or place is None or (transcript.status == "error") == succeeded:
            log.info("zulip.skipped", **fields)
            return "skipped"
        stream, topic = place
        try:
            if succeeded:
                await self.share(transcript_id, stream, topic, include_topics=True)
            else:
                notice = failure_message(transcript, error, base_url=self._base_url)
                await self._place(client, transcript_id, stream, topic, notice, include_topics=True)
        except ZulipFailed as exc:
            delays = self._retry_delays
            if _temporary(exc) and attempt <= len(delays):
                log.info("zulip.retrying", **fields, error=str(exc), retry_in_s=delays[attempt - 1])
                assert self._queue is not None
                next_job = f"zulip:{post_id}:{attempt + 1}"
                await self._queue.enqueue(
                    POST,
                    post_id,
                    transcript_id,
                    succeeded,
                    error,
                    attempt + 1,
                    job_id=next_job,
                    defer_s=delays[attempt - 1],
                )
                return "retry"
            log.warning("zulip.auto_post_failed", **fields, error=str(exc))
            return "failed"
        return "posted"

    async def transcript_edited(self, transcript_id: str) -> None:
        """A person changed the title or summary: every message posted for it says so too. A failure is
        logged, never the edit's: the transcript is saved whatever Zulip does."""
        if self._client is None or (await self._transcripts.get(transcript_id)).status == "error":
            return  # a failure notice stays one until the transcript is made
        for post in await repo.of_transcript(transcript_id):
            try:
                await self.share(transcript_id, post.stream, post.topic, include_topics=post.include_topics)
            except ZulipFailed as exc:
                log.warning(
                    "zulip.update_failed", transcript_id=transcript_id, message_id=post.message_id, error=str(exc)
                )

    async def close(self) -> None:
        close = getattr(self._client, "aclose", None)
        if close is not None:
            await close()
