"""Topics while the meeting goes on, from the live captions (the file pipeline writes the transcript's own
topics after STOP)."""

import asyncio
from typing import TYPE_CHECKING

import structlog

from reflector.domain.events import topic_event
from reflector.pipelines.topics import detect_topics
from reflector.pipelines.types import Word

if TYPE_CHECKING:
    from reflector.domain.live.captioning import Captioner

log = structlog.get_logger(__name__)

# A live topic covers about this many words of final captions (a minute or so of speech), ended at a
# sentence; Reflector's live path waits for 750 characters, about as much.
TOPIC_WORDS = 120


class LiveTopics:
    """Topics while the meeting goes on: each TOPIC_WORDS of final captions titled and summarized by the
    LLM, one call at a time, sent as TOPIC events. The file pipeline writes the transcript's topics after
    STOP; these are for the people watching."""

    def __init__(self, captioner: "Captioner", transcript_id: str) -> None:
        self._captioner = captioner
        self._transcript_id = transcript_id
        self._words: list[Word] = []
        self._task: asyncio.Task[None] | None = None
        self.count = 0

    def add(self, words: list[Word]) -> None:
        self._words.extend(words)
        ended = bool(self._words) and self._words[-1].text.rstrip().endswith((".", "?", "!"))
        enough = len(self._words) >= TOPIC_WORDS and (ended or len(self._words) >= 2 * TOPIC_WORDS)
        if enough and (self._task is None or self._task.done()):
            words, self._words = self._words, []
            self._task = asyncio.create_task(self._detect(words))

    async def _detect(self, words: list[Word]) -> None:
        try:
            llm = await asyncio.to_thread(self._captioner.llm)
            for topic in await asyncio.to_thread(detect_topics, llm, words, {}):
                self.count += 1
                event = topic_event(f"live-{self._transcript_id[:8]}-{self.count}", topic)
                await self._captioner.emit(self._transcript_id, event)
                log.info("live.topic", transcript_id=self._transcript_id, title=topic.title)
        except Exception as exc:  # a topic is a nicety: the captions and the recording go on without it
            log.warning("live.topic_failed", transcript_id=self._transcript_id, error=repr(exc))

    async def settle(self, within_s: float) -> None:
        """Let a topic being written at the end of the recording be sent."""
        if self._task is not None:
            await asyncio.wait([self._task], timeout=within_s)

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
