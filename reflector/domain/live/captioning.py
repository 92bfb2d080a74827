"""Captions for the recordings being made, as they are made.

The captioner takes each live recording's audio from its feed (the web process receiving it writes there),
turns it into partial and final captions, and sends them as TRANSCRIPT events; with live topics on, or a
target language, it hands the final captions to `LiveTopics` and `Translations` too. The recording itself
is the web process's business: a captioner dying costs captions for a while, never audio. A restarted
captioner (or another) picks the recording up after its last final caption.
"""

import asyncio
import contextlib
import functools
import os
import socket
import time
import uuid
from typing import Any, Protocol

import structlog

from reflector.domain.events import TranscriptEvent, caption_event
from reflector.domain.live.feed import LiveFeed, Progress
from reflector.domain.live.languages import caption_languages
from reflector.domain.live.live_topics import LiveTopics
from reflector.domain.live.translation import Translations
from reflector.domain.transcripts.models import TranscriptNotFound
from reflector.domain.transcripts.service import TranscriptService
from reflector.pipelines.audio import SAMPLE_RATE
from reflector.pipelines.captions import Caption, CaptionStream
from reflector.pipelines.transcribe import speech_regions

log = structlog.get_logger(__name__)

SCAN_S = 0.3
RENEW_S = 3.0
# No audio for this long and no web process receiving: the recording ended without its `end` (a crash).
ORPHANED_S = 15.0
# Pieces waiting beyond the one in hand: more than this (~0.3 s) and partials are skipped to catch up.
BEHIND_PIECES = 3
# After STOP, how long a topic or a translation still being written is waited for.
SETTLE_S = 60.0


class LiveModels(Protocol):
    """Built on first use: the live transcriber when captioning starts, the LLM for the first topic or
    translation."""

    def live_transcriber(self) -> Any: ...

    def llm(self) -> Any: ...


class Captioner:
    def __init__(
        self, transcripts: TranscriptService, feed: LiveFeed, models: LiveModels, *, topics: bool = True
    ) -> None:
        self._transcripts = transcripts
        self._models = models
        self._topics = topics
        self._feed = feed
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._sessions: dict[str, asyncio.Task[None]] = {}
        # One decode at a time: on a CPU two would only share the cores, each finishing later.
        self._decoding = asyncio.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        transcriber = await asyncio.to_thread(self._models.live_transcriber)
        log.info("live.started", owner=self.owner)
        try:
            while not stop.is_set():
                for transcript_id in await self._feed.active():
                    if transcript_id not in self._sessions and await self._feed.claim(transcript_id, self.owner):
                        task = asyncio.create_task(self._caption(transcriber, transcript_id))
                        self._sessions[transcript_id] = task
                        task.add_done_callback(functools.partial(self._forget, transcript_id))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), SCAN_S)
        finally:
            for task in list(self._sessions.values()):
                task.cancel()
            await asyncio.gather(*self._sessions.values(), return_exceptions=True)

    def _forget(self, transcript_id: str, task: asyncio.Task[None]) -> None:
        self._sessions.pop(transcript_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("live.failed", transcript_id=transcript_id, error=repr(task.exception()))

    async def _caption(self, transcriber: Any, transcript_id: str) -> None:
        feed = self._feed
        try:
            transcript = await self._transcripts.get(transcript_id)
        except TranscriptNotFound:
            await feed.done(transcript_id, self.owner)
            return
        progress = await feed.progress(transcript_id)
        source, target = caption_languages(transcript)
        decode = functools.partial(transcriber.decode, language=source)
        stream = CaptionStream(
            decode, speech_regions, start_at=progress.committed, prompt=progress.prompt, index=progress.index
        )
        skip = round(progress.committed * SAMPLE_RATE)
        log.info("live.captioning", transcript_id=transcript_id, resumed_at=progress.committed)
        renewer = asyncio.create_task(self._keep_claim(transcript_id))
        topics = LiveTopics(self, transcript_id) if self._topics else None
        translations = Translations(self, transcript_id, source, target) if target is not None else None
        heard = time.monotonic()
        try:
            async for batch in feed.pieces(transcript_id):
                if renewer.done():
                    return  # the claim was lost: another captioner has this recording now
                if not batch:
                    if time.monotonic() - heard > ORPHANED_S and not await feed.recording(transcript_id):
                        break
                    continue
                heard = time.monotonic()
                for i, piece in enumerate(batch):
                    if piece.samples is None:
                        break
                    samples = piece.samples[max(0, skip - piece.at) :]
                    if not len(samples):
                        continue
                    stream.feed(samples)
                    if stream.ready():
                        behind = len(batch) - 1 - i > BEHIND_PIECES
                        await self._send(
                            transcript_id, stream, await self._decode(stream.step, not behind), topics, translations
                        )
            await self._send(transcript_id, stream, await self._decode(stream.flush), topics, translations)
            for helper in (topics, translations):
                if helper is not None:
                    await helper.settle(SETTLE_S)
            await feed.done(transcript_id, self.owner)
            log.info("live.ended", transcript_id=transcript_id, seconds=round(stream.position, 1))
        finally:
            renewer.cancel()
            for helper in (topics, translations):
                if helper is not None:
                    helper.cancel()

    async def _decode(self, work: Any, *args: Any) -> list[Caption]:
        async with self._decoding:
            return await asyncio.to_thread(work, *args)

    async def _send(
        self,
        transcript_id: str,
        stream: CaptionStream,
        captions: list[Caption],
        topics: "LiveTopics | None",
        translations: "Translations | None",
    ) -> None:
        for caption in captions:
            await self._transcripts.emit(transcript_id, caption_event(caption))
            if caption.final and topics is not None:
                topics.add(caption.words)
            if caption.final and translations is not None and caption.words:
                translations.add(caption)
        if any(c.final for c in captions):
            await self._feed.save(transcript_id, Progress(stream.committed, stream.prompt, stream.index))

    async def emit(self, transcript_id: str, event: TranscriptEvent) -> None:
        await self._transcripts.emit(transcript_id, event)

    def llm(self) -> Any:
        return self._models.llm()

    async def _keep_claim(self, transcript_id: str) -> None:
        while True:
            if not await self._feed.renew(transcript_id, self.owner):
                break
            await asyncio.sleep(RENEW_S)
        log.warning("live.claim_lost", transcript_id=transcript_id)
