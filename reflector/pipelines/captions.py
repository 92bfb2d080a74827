"""Live captions from streamed audio: speech cut by VAD, decoded as it grows, partial then final.

Audio arrives in small pieces. Every `step_s` of new audio the unfinished speech (everything since the
last final caption) is decoded again and given out as a partial caption, which the next one replaces.
When the speaker pauses, or an utterance grows past `max_s`, the speech up to that point is decoded once
more, with the previous final words as Whisper's prompt, and given out as a final caption; its audio is
then dropped. Latency is thus one step plus one decode, not the length of a chunk.
"""

import itertools
import re
from collections.abc import Callable

import msgspec
import numpy as np

from reflector.pipelines.audio import SAMPLE_RATE
from reflector.pipelines.types import Word

# decode(audio, prompt) -> words with times relative to the start of `audio`.
Decode = Callable[[np.ndarray, str], list[Word]]
# vad(audio) -> speech regions as (start, end) sample offsets.
Vad = Callable[[np.ndarray], list[tuple[int, int]]]

PROMPT_CHARS = 200
MARGIN_S = 0.2  # how far from speech the VAD found a word's middle may lie


class Caption(msgspec.Struct, frozen=True):
    """Words of one utterance, times from the start of the recording. A partial caption is replaced by
    the next caption of the same `index`; a final one is not."""

    index: int
    words: list[Word]
    final: bool

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def start(self) -> float:
        return self.words[0].start if self.words else 0.0

    @property
    def end(self) -> float:
        return self.words[-1].end if self.words else 0.0


class CaptionStream:
    def __init__(
        self,
        decode: Decode,
        vad: Vad,
        *,
        step_s: float = 0.5,
        pause_s: float = 0.35,
        max_s: float = 12.0,
        keep_s: float = 0.3,
        start_at: float = 0.0,
        prompt: str = "",
        index: int = 0,
    ) -> None:
        self._decode = decode
        self._vad = vad
        self._step = round(step_s * SAMPLE_RATE)
        self._pause = round(pause_s * SAMPLE_RATE)
        self._max = round(max_s * SAMPLE_RATE)
        self._keep = round(keep_s * SAMPLE_RATE)
        self._pieces: list[np.ndarray] = []
        self._buffer = np.zeros(0, dtype=np.float32)
        self._base = round(start_at * SAMPLE_RATE)  # the buffer's first sample, counted from the start
        self._fresh = 0  # samples fed since the last step
        self.prompt = prompt
        self.index = index
        self._shown = False  # a partial of caption `index` is on screen

    @property
    def position(self) -> float:
        """Seconds of the recording fed so far."""
        return (self._base + len(self._buffer) + sum(len(p) for p in self._pieces)) / SAMPLE_RATE

    @property
    def committed(self) -> float:
        """Seconds of the recording behind the last final caption (where a restart resumes)."""
        return self._base / SAMPLE_RATE

    def feed(self, samples: np.ndarray) -> None:
        self._pieces.append(np.asarray(samples, dtype=np.float32))
        self._fresh += len(samples)

    def ready(self) -> bool:
        return self._fresh >= self._step

    def step(self, partial: bool = True) -> list[Caption]:
        """Decode what is new (blocking: run it off the event loop). With `partial` False only a final
        caption is decoded, when one is due: a caller behind the audio catches up that way."""
        self._take()
        buffer = self._buffer
        speech = self._vad(buffer)
        if not speech:
            # Silence: nothing to show, and none of it is kept but a margin for speech just starting.
            self._advance(max(0, len(buffer) - self._keep))
            return self._retract()
        starts = [b[0] for b in speech[1:]] + [len(buffer)]
        ends = [a[1] for a, after in zip(speech, starts, strict=True) if after - a[1] >= self._pause]
        if ends:
            # The first pause closes an utterance, even one already followed by more speech.
            return self._final(min(ends[0] + self._keep, len(buffer)), speech)
        if len(buffer) >= self._max:
            return self._final(self._cut(speech, len(buffer)), speech)
        if not partial:
            return []
        words = self._heard(self._decode(buffer, self.prompt), speech)
        if not words:
            # Speech the decoder made nothing of, this time: the partial on screen stays (and keeps its
            # index) until the next decode or the final says otherwise.
            return []
        self._shown = True
        return [Caption(self.index, words, final=False)]

    def flush(self) -> list[Caption]:
        """The end of the recording: whatever speech is left becomes final."""
        self._take()
        speech = self._vad(self._buffer) if len(self._buffer) else []
        if not speech:
            self._advance(len(self._buffer))
            return self._retract()
        return self._final(len(self._buffer), speech)

    def _take(self) -> None:
        if self._pieces:
            self._buffer = np.concatenate([self._buffer, *self._pieces])
            self._pieces = []
        self._fresh = 0

    def _cut(self, speech: list[tuple[int, int]], length: int) -> int:
        """Where to end an utterance that will not pause: the widest gap in its speech, clear of the
        last second (still being spoken), else a second before the end."""
        limit = length - SAMPLE_RATE
        gaps = [(b[0] - a[1], (a[1] + b[0]) // 2) for a, b in itertools.pairwise(speech) if b[0] < limit]
        return max(gaps)[1] if gaps else limit

    def _final(self, cut: int, speech: list[tuple[int, int]]) -> list[Caption]:
        words = self._heard(self._decode(self._buffer[:cut], self.prompt), speech)
        self._advance(cut)
        if not words:
            return self._retract()
        caption = Caption(self.index, words, final=True)
        self.index += 1
        self._shown = False
        self.prompt = (self.prompt + " " + caption.text).strip()[-PROMPT_CHARS:]
        return [caption]

    def _retract(self) -> list[Caption]:
        """A partial on screen that turned out to be no speech is replaced by an empty final."""
        if not self._shown:
            return []
        self._shown = False
        self.index += 1
        return [Caption(self.index - 1, [], final=True)]

    def _advance(self, samples: int) -> None:
        self._buffer = self._buffer[samples:]
        self._base += samples

    def _heard(self, words: list[Word], regions: list[tuple[int, int]]) -> list[Word]:
        """The words over speech, in recording time: what Whisper writes over silence ("Thank you.") goes."""
        speech = [(a / SAMPLE_RATE - MARGIN_S, b / SAMPLE_RATE + MARGIN_S) for a, b in regions]
        offset = self._base / SAMPLE_RATE
        return [
            Word(text=w.text, start=round(w.start + offset, 3), end=round(w.end + offset, 3))
            for w in without_repeats(words)
            if any(a <= (w.start + w.end) / 2 <= b for a, b in speech)
        ]


def without_repeats(words: list[Word], shortest: int = 3) -> list[Word]:
    """Words with a run said twice in a row kept once ("And so my fellow Americans. And so my fellow
    Americans."): a short piece decoded greedily, with no temperature retry, may loop like that."""
    key = [re.sub(r"\W+", "", w.text.lower()) for w in words]
    n = len(words) // 2
    while n >= shortest:
        for i in range(len(words) - 2 * n + 1):
            if key[i : i + n] == key[i + n : i + 2 * n]:
                del words[i + n : i + 2 * n], key[i + n : i + 2 * n]
                n = min(n, len(words) // 2) + 1  # look again at this length: a third copy may follow
                break
        n -= 1
    # A loop cut short by the token limit ends on the start of one more copy.
    for j in range(1, len(words) - shortest + 1):
        tail = key[j:]
        if any(key[j - p : j - p + len(tail)] == tail for p in range(len(tail), j + 1)):
            del words[j:]
            break
    return words
