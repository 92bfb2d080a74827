"""The live worker: captions for the recordings being made, as they are made.

It takes each live recording's audio from its feed (the web process receiving it writes there), turns it
into partial and final captions, and sends them as TRANSCRIPT events. The recording itself is the web
process's business: this worker dying costs captions for a while, never audio. A restarted worker (or
another) picks the recording up after its last final caption.
"""

import asyncio
import contextlib
import functools
import os
import signal
import socket
import time
import uuid
from typing import Any

import msgspec
import structlog

from reflector.bootstrap import ModelRegistry, Services, start_services, stop_services
from reflector.domain.events import TranscriptEvent, TranslationData, TranslationEvent, caption_event, topic_event
from reflector.domain.health import LIVE, WorkerBeat, keep_announced, retire_worker
from reflector.domain.live.feed import LiveFeed, Progress
from reflector.domain.live.languages import caption_languages
from reflector.domain.transcripts.models import TranscriptNotFound
from reflector.error_tracking import init_error_tracking
from reflector.pipelines.audio import SAMPLE_RATE
from reflector.pipelines.captions import Caption, CaptionStream
from reflector.pipelines.languages import WHISPER_LANGUAGES
from reflector.pipelines.topics import detect_topics
from reflector.pipelines.transcribe import available_cores, speech_regions
from reflector.pipelines.translate import translate
from reflector.pipelines.types import Word
from reflector.settings import Settings

log = structlog.get_logger(__name__)

SCAN_S = 0.3
RENEW_S = 3.0
# No audio for this long and no web process receiving: the recording ended without its `end` (a crash).
ORPHANED_S = 15.0
# Pieces waiting beyond the one in hand: more than this (~0.3 s) and partials are skipped to catch up.
BEHIND_PIECES = 3
# A live topic covers about this many words of final captions (a minute or so of speech), ended at a
# sentence; Reflector's live path waits for 750 characters, about as much.
TOPIC_WORDS = 120
# After STOP, how long a topic or a translation still being written is waited for.
SETTLE_S = 60.0


class Captioner:
    def __init__(self, services: Services, models: ModelRegistry, *, topics: bool = True) -> None:
        self._services = services
        self._models = models
        self._topics = topics
        self._feed = LiveFeed(services.redis)
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
            transcript = await self._services.transcripts.get(transcript_id)
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
            await self._services.transcripts.emit(transcript_id, caption_event(caption))
            if caption.final and topics is not None:
                topics.add(caption.words)
            if caption.final and translations is not None and caption.words:
                translations.add(caption)
        if any(c.final for c in captions):
            await self._feed.save(transcript_id, Progress(stream.committed, stream.prompt, stream.index))

    async def emit(self, transcript_id: str, event: TranscriptEvent) -> None:
        await self._services.transcripts.emit(transcript_id, event)

    def llm(self) -> Any:
        return self._models.llm()

    async def _keep_claim(self, transcript_id: str) -> None:
        while True:
            if not await self._feed.renew(transcript_id, self.owner):
                break
            await asyncio.sleep(RENEW_S)
        log.warning("live.claim_lost", transcript_id=transcript_id)


class LiveTopics:
    """Topics while the meeting goes on: each TOPIC_WORDS of final captions titled and summarized by the
    LLM, one call at a time, sent as TOPIC events. The file pipeline writes the transcript's topics after
    STOP; these are for the people watching."""

    def __init__(self, captioner: Captioner, transcript_id: str) -> None:
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


class Translations:
    """Final captions into the transcript's target language through the LLM, in order, one at a time:
    TRANSLATION events `{index, text, translation, source_language, target_language, machine: true}`,
    `translation` null for a caption that could not be translated."""

    def __init__(self, captioner: Captioner, transcript_id: str, source: str, target: str) -> None:
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


def live_settings(settings: Settings) -> Settings:
    """The embedded LLM shares the machine with the captions: all cores but one, unless set."""
    if settings.llm.threads:
        return settings
    llm = msgspec.structs.replace(settings.llm, threads=max(1, available_cores() - 1))
    return msgspec.structs.replace(settings, llm=llm)


async def run_live_worker(settings: Settings) -> None:
    init_error_tracking(settings.server.sentry_dsn, process="live")
    services = await start_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Announced, the record page can say whether captions will come (and readiness ignores it).
    beat = WorkerBeat(host=socket.gethostname(), pid=os.getpid(), queues=[LIVE])
    announcer = asyncio.create_task(keep_announced(services.redis, beat, settings.worker.heartbeat_s))
    try:
        models = ModelRegistry(live_settings(settings))
        await Captioner(services, models, topics=settings.worker.live_topics).run(stop)
    finally:
        announcer.cancel()
        with contextlib.suppress(Exception):
            await retire_worker(services.redis, beat)
        await stop_services(services)
