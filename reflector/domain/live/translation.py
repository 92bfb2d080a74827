"""The live captions translated into the transcript's target language as they are made."""

import asyncio
from typing import TYPE_CHECKING

import structlog

from reflector.domain.events import TranslationData, TranslationEvent
from reflector.pipelines.captions import Caption
from reflector.pipelines.languages import WHISPER_LANGUAGES
from reflector.pipelines.translate import translate

if TYPE_CHECKING:
    from reflector.domain.live.captioning import Captioner

log = structlog.get_logger(__name__)


class Translations:
    """Final captions into the transcript's target language through the LLM, in order, one at a time:
    TRANSLATION events `{index, text, translation, source_language, target_language, machine: true}`,
    `translation` null for a caption that could not be translated."""

    def __init__(self, captioner: "Captioner", transcript_id: str, source: str, target: str) -> None:
        self._captioner = captioner
        self._transcript_id = transcript_id
        self._source, self._target = source, target
        self._queue: asyncio.Queue[Caption | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    def add(self, caption: Caption) -> None:
        self._queue.put_nowait(caption)

    async def _run(self) -> None:
        source = WHISPER_LANGUAGES.get(self._source, self._source)
        target = WHISPER_LANGUAGES.get(self._target, self._target)
        while (caption := await self._queue.get()) is not None:
            text: str | None
            try:
                llm = await asyncio.to_thread(self._captioner.llm)
                text = await asyncio.to_thread(translate, llm, caption.text, source, target)
            except Exception as exc:  # the caption stands without its translation, and is still sent
                log.warning("live.translation_failed", transcript_id=self._transcript_id, error=repr(exc))
                text = None
            data = TranslationData(
                index=caption.index,
                text=caption.text,
                translation=text,
                source_language=self._source,
                target_language=self._target,
            )
            await self._captioner.emit(self._transcript_id, TranslationEvent(data))

    async def settle(self, within_s: float) -> None:
        """Let the captions already queued be translated and sent."""
        self._queue.put_nowait(None)
        await asyncio.wait([self._task], timeout=within_s)

    def cancel(self) -> None:
        self._task.cancel()
