"""The file pipeline: decode -> transcribe | diarize -> assemble -> topics -> summarize.

The one way a recording is processed, used in-process by `reflector process` and by the worker's
jobs. Each step's output goes through `Checkpoints`, so a resumed run skips finished steps.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import msgspec
import numpy as np
import structlog

from reflector.encoding import encode
from reflector.pipelines import audio as audio_mod
from reflector.pipelines.protocols import LLM, Diarizer, Transcriber
from reflector.pipelines.speech import VoiceActivity
from reflector.pipelines.types import (
    MeetingResult,
    SpeakerTurn,
    Summary,
    Topic,
    Transcription,
    Word,
    speaker_label,
)

log = structlog.get_logger(__name__)

# Share of the whole run's work, for the overall progress and ETA.
STEP_WEIGHTS: dict[str, float] = {
    "decode": 0.04,
    "transcribe": 0.36,
    "diarize": 0.22,
    "assemble": 0.01,
    "topics": 0.12,
    "summarize": 0.25,
}
SPEECH_STEPS = ("decode", "transcribe", "diarize", "assemble")
ANALYSIS_STEPS = ("topics", "summarize")
STEPS = SPEECH_STEPS + ANALYSIS_STEPS

# Codecs of each checkpointed step's output.
_STEP_TYPES: dict[str, Any] = {
    # The duration: the samples, the peaks and the mp3 are cheaper to decode again than to keep.
    "decode": float,
    "transcribe": Transcription,
    "diarize": list[SpeakerTurn],
    "assemble": list[Word],
    "topics": list[Topic],
    "summarize": Summary,
}
# Where each step's output goes in StepOutputs.
_OUTPUT_FIELDS = {
    "decode": "duration",
    "transcribe": "transcription",
    "diarize": "turns",
    "assemble": "words",
    "topics": "topics",
    "summarize": "summary",
}


class PipelineOptions(msgspec.Struct, frozen=True):
    language: str | None = "en"
    diarize: bool = True
    summarize: bool = True
    num_speakers: int | None = None
    # People known to take part (`--participants`, the transcript's participants, a room's joiners):
    # the recognizer listens for their names and the analysis may name them as owners.
    participants: tuple[str, ...] = ()


class Checkpoints(Protocol):
    async def load(self, step: str) -> bytes | None: ...

    async def save(self, step: str, data: bytes) -> None: ...


class MemoryCheckpoints:
    """Checkpoints for an in-process run that is never resumed."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    async def load(self, step: str) -> bytes | None:
        return self._data.get(step)

    async def save(self, step: str, data: bytes) -> None:
        self._data[step] = data

    def saved(self) -> dict[str, bytes]:
        return dict(self._data)


class StepObserver(Protocol):
    """Hears about steps as they go. `progress` is called from worker threads."""

    async def started(self, step: str) -> None: ...

    def progress(self, step: str, fraction: float) -> None: ...

    async def finished(self, step: str, seconds: float, output: Any) -> None: ...

    async def restored(self, step: str, output: Any) -> None:
        """A step's output came from its checkpoint: a worker that died after saving it may not have
        finished writing it where it goes."""


class Models(Protocol):
    """Built on first use, so a run that never summarizes never loads the LLM."""

    def transcriber(self) -> Transcriber: ...

    def diarizer(self) -> Diarizer: ...

    def llm(self) -> LLM: ...


# Excludes LLM steps from transcription on one machine: kind is "speech" or "llm".
Gate = Callable[[str], contextlib.AbstractAsyncContextManager[None]]


@contextlib.asynccontextmanager
async def no_gate(_kind: str) -> AsyncIterator[None]:
    yield


class DecodedAudio(msgspec.Struct, frozen=True):
    """The decode step's output: the samples the models read, and what a player draws and plays."""

    samples: np.ndarray  # 16 kHz mono float32
    duration: float  # seconds
    peaks: list[float]  # the waveform
    mp3: Path | None  # the recording for the player; None when the pipeline was given nowhere to write it


class StepOutputs(msgspec.Struct):
    duration: float = 0.0
    transcription: Transcription | None = None
    turns: list[SpeakerTurn] | None = None
    words: list[Word] | None = None
    topics: list[Topic] | None = None
    summary: Summary | None = None


class MeetingPipeline:
    def __init__(
        self,
        models: Models,
        options: PipelineOptions,
        checkpoints: Checkpoints,
        observer: StepObserver,
        gate: Gate = no_gate,
        speaker_names: dict[int, str] | None = None,
        playback_dir: Path | None = None,
    ) -> None:
        self._models = models
        self._options = options
        self._checkpoints = checkpoints
        self._observer = observer
        self._gate = gate
        self._names = speaker_names or {}
        # Where decoding writes the mp3 a player streams; None: no player (`reflector process`).
        self._playback_dir = playback_dir
        self.outputs = StepOutputs()

    async def run(self, source: Path | None, steps: Sequence[str] = STEPS) -> StepOutputs:
        """Run `steps` (skipping those with a checkpoint); `source` is needed for the speech steps."""
        if any(step in SPEECH_STEPS for step in steps):
            await self._speech_of(source)
        else:
            self.outputs.duration = await self._load("decode") or 0.0
            self.outputs.transcription = await self._load("transcribe")
            self.outputs.words = await self._load("assemble")
        if "topics" in steps:
            await self._topics()
        if "summarize" in steps:
            await self._summarize()
        return self.outputs

    async def _speech_of(self, source: Path | None) -> None:
        """The speech steps over `source` (a subclass may take its audio from elsewhere)."""
        assert source is not None
        await self._speech(source)

    async def _speech(self, source: Path) -> None:
        transcription = await self._load("transcribe")
        turns = await self._load("diarize")
        words = await self._load("assemble")
        duration = await self._load("decode")
        audio = np.zeros(0, dtype=np.float32)
        if duration is None or transcription is None or turns is None:
            decoded: DecodedAudio = await self._step("decode", lambda _p: self._decode(source))
            audio, duration = decoded.samples, decoded.duration
        self.outputs.duration = duration

        # Where the recording has speech: computed once, by whichever of the two asks first.
        activity = VoiceActivity(audio)
        with audio_mod.paged_out(audio):
            jobs = []
            if transcription is None:
                jobs.append(self._step("transcribe", lambda p: self._transcribe(audio, activity, p), kind="speech"))
            if turns is None:
                jobs.append(self._step("diarize", lambda p: self._diarize(audio, activity, p), kind="speech"))
            for result in await asyncio.gather(*jobs):
                if isinstance(result, Transcription):
                    transcription = result
                else:
                    turns = result
            assert transcription is not None and turns is not None
            self.outputs.transcription, self.outputs.turns = transcription, turns
            if words is None:
                words = await self._step(
                    "assemble", lambda _p: self._assemble(source, audio, transcription, turns), kind="speech"
                )
        self.outputs.words = words

    def _assemble(
        self, source: Path, audio: np.ndarray, transcription: Transcription, turns: list[SpeakerTurn]
    ) -> list[Word]:
        """The words with their speakers, after a second hearing of the turns no word fell in."""
        from reflector.pipelines.assemble import assign_speakers, wordless_turns

        words = transcription.words
        unheard = wordless_turns([(w.start, w.end) for w in words], turns)
        if unheard:
            if audio.size == 0:  # resumed after both transcription and diarization were saved
                audio = audio_mod.decode(source, mapped=True)
            heard = self._models.transcriber().second_hearing(
                audio, [(t.start, t.end) for t in unheard], language=transcription.language
            )
            words = sorted([*words, *heard], key=lambda w: w.start)
        return assign_speakers(words, turns)

    def _decode(self, source: Path) -> DecodedAudio:
        samples = audio_mod.decode(source, mapped=True)
        mp3 = None
        with audio_mod.paged_out(samples):
            if self._playback_dir is not None:
                mp3 = audio_mod.encode_mp3(samples, self._playback_dir / "audio.mp3")
            peaks = audio_mod.waveform(samples)
        return DecodedAudio(samples, float(audio_mod.duration_of(samples)), peaks, mp3)

    def _transcribe(
        self, audio: np.ndarray, activity: VoiceActivity, progress: Callable[[float], None]
    ) -> Transcription:
        return self._models.transcriber().transcribe(
            audio, language=self._options.language, progress=progress, names=self._known_names(), activity=activity
        )

    def _known_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self._options.participants, *(n for n in self._names.values() if n)]))

    def _diarize(
        self, audio: np.ndarray, activity: VoiceActivity, progress: Callable[[float], None]
    ) -> list[SpeakerTurn]:
        if not self._options.diarize:
            return []
        return self._models.diarizer().diarize(
            audio, num_speakers=self._options.num_speakers, progress=progress, activity=activity
        )

    async def _topics(self) -> None:
        from reflector.pipelines.topics import detect_topics

        topics = await self._load("topics")
        if topics is None:
            words = self.outputs.words or []
            if not self._options.summarize or not words:
                topics = await self._step("topics", lambda _p: [], threaded=False)
            else:
                topics = await self._step(
                    "topics",
                    lambda p: detect_topics(self._models.llm(), words, self._names, p),
                    kind="llm",
                )
        self.outputs.topics = topics

    async def _summarize(self) -> None:
        from reflector.pipelines.assemble import segments_from_words
        from reflector.pipelines.summarize import summarize

        summary = await self._load("summarize")
        if summary is None:
            segments = segments_from_words(self.outputs.words or [])
            if not self._options.summarize or not segments:
                empty = Summary(title="", short_summary="", long_summary="", decisions=[], action_items=[])
                summary = await self._step("summarize", lambda _p: empty, threaded=False)
            else:
                summary = await self._step(
                    "summarize",
                    lambda p: summarize(
                        self._models.llm(),
                        segments,
                        self.outputs.topics or [],
                        self._names,
                        p,
                        participants=self._options.participants,
                    ),
                    kind="llm",
                )
        self.outputs.summary = summary

    async def _load(self, step: str) -> Any:
        data = await self._checkpoints.load(step)
        if data is None:
            return None
        log.info("step.skipped", step=step, reason="checkpoint")
        output = msgspec.json.decode(data, type=_STEP_TYPES[step])
        await self._observer.restored(step, output)
        return output

    async def _step(
        self,
        step: str,
        work: Callable[[Callable[[float], None]], Any],
        *,
        kind: str | None = None,
        threaded: bool = True,
    ) -> Any:
        def progress(fraction: float) -> None:
            self._observer.progress(step, min(max(float(fraction), 0.0), 1.0))

        await self._observer.started(step)
        began = time.perf_counter()
        gate = self._gate(kind) if kind else contextlib.nullcontext()
        async with gate:
            output = await asyncio.to_thread(work, progress) if threaded else work(progress)
        seconds = time.perf_counter() - began
        await self._checkpoints.save(step, encode(_checkpoint_of(step, output)))
        await self._observer.finished(step, seconds, output)
        log.info("step.finished", step=step, seconds=round(seconds, 3))
        return output


def _checkpoint_of(step: str, output: Any) -> Any:
    return output.duration if step == "decode" else output


async def restore(checkpoints: Checkpoints, steps: Sequence[str] = STEPS) -> StepOutputs:
    """The outputs of `steps` that a run's checkpoints hold, read back without running anything."""
    outputs = StepOutputs()
    for step in steps:
        data = await checkpoints.load(step)
        if data is not None:
            setattr(outputs, _OUTPUT_FIELDS[step], msgspec.json.decode(data, type=_STEP_TYPES[step]))
    return outputs


def build_result(outputs: StepOutputs, language: str, names: dict[int, str] | None = None) -> MeetingResult:
    """The whole result of a run, speaker numbers mapped to display names."""
    from reflector.pipelines.assemble import segments_from_words, speaker_timeline

    names = names or {}
    words = outputs.words or []
    summary = outputs.summary or Summary("", "", "", [], [])
    segments = speaker_timeline(segments_from_words(words), outputs.turns or [])
    count = max((s.speaker for s in segments), default=-1) + 1
    return MeetingResult(
        title=summary.title,
        short_summary=summary.short_summary,
        long_summary=summary.long_summary,
        duration=round(outputs.duration, 3),
        language=(outputs.transcription.language if outputs.transcription else language) or language,
        speakers=[names.get(i, speaker_label(i)) for i in range(count)],
        segments=segments,
        words=words,
        topics=outputs.topics or [],
        decisions=summary.decisions,
        action_items=summary.action_items,
    )
