"""Speaker turns onto timed words, and words into readable segments.

Diarizer turn edges are off by a few hundred milliseconds, so a word-by-word nearest-turn choice flips
the first or last words of a sentence to the neighbouring speaker. Instead each ASR sentence takes the
speaker with the most overlap, and is split only where the turns say a different speaker holds the
floor for a sustained stretch (MIN_RUN seconds), cutting at the word boundary where the turn changes.
"""

import bisect
import itertools
from collections import Counter
from collections.abc import Sequence

import msgspec
import numpy as np

from reflector.pipelines.types import Segment, SpeakerTurn, Word

SENTENCE_END = (".", "?", "!", "…")
SEGMENT_END = (".", ";", ":", "?", "!", "…")
SENTENCE_GAP = 1.0  # seconds of silence that end a sentence even without punctuation
MIN_RUN = 1.0  # seconds; a shorter stretch of another speaker inside a sentence is taken as turn-edge jitter
MIN_WORD = 0.02  # zero-length words still need a span to overlap with
WORD_BLOCK = 512
SEGMENT_CHARS = 120  # as Reflector: past this length a segment ends at the next punctuation


def assign_speakers(words: list[Word], turns: list[SpeakerTurn]) -> list[Word]:
    """The same words with `speaker` set from the turns; with no turns everyone is speaker 0."""
    if not turns:
        return [_with_speaker(w, 0) for w in words]
    speakers = sorted({t.speaker for t in turns})
    per_speaker = _overlap_by_speaker(words, turns, speakers)
    nearest = _nearest_speaker(words, turns)
    out: list[Word] = []
    for sentence in _sentences(words):
        for run in _runs(sentence, per_speaker, nearest, speakers):
            best = _majority(run, per_speaker, nearest, speakers)
            out.extend(_with_speaker(words[i], best) for i in run)
    return out


def segments_from_words(words: list[Word]) -> list[Segment]:
    """A new segment on each speaker change, and after sentence punctuation once past ~120 characters."""
    segments: list[Segment] = []
    current: list[Word] = []
    # The current segment's length (each word and a space), kept as words come: summing it again at each
    # punctuation mark made this quadratic, and it runs on every read of a transcript.
    length = 0

    def close() -> None:
        nonlocal length
        if current:
            text = " ".join([w.text for w in current])
            segments.append(Segment(current[0].speaker, current[0].start, current[-1].end, text))
            current.clear()
            length = 0

    for word in words:
        if current and word.speaker != current[0].speaker:
            close()
        current.append(word)
        length += len(word.text) + 1
        if length > SEGMENT_CHARS and word.text.endswith(SEGMENT_END):
            close()
    close()
    return segments


# Another voice over a segment for this long makes it overlapped speech; a turn this long with no word
# in it is speech the recognizer could not write down.
OVERLAP_S = 0.5
WORDLESS_S = 1.0


def speaker_timeline(segments: list[Segment], turns: list[SpeakerTurn]) -> list[Segment]:
    """The segments with overlapped speech marked, and the diarizer's turns no word fell in added as
    segments without text, in time order: who spoke when, even where nothing was understood."""
    if not turns:
        return segments
    marked = [
        msgspec.structs.replace(seg, overlap=True) if _others_over(seg, turns) >= OVERLAP_S else seg for seg in segments
    ]
    wordless = [
        Segment(turn.speaker, round(turn.start, 3), round(turn.end, 3), "")
        for turn in wordless_turns([(seg.start, seg.end) for seg in segments], turns)
    ]
    return sorted(marked + wordless, key=lambda seg: (seg.start, seg.speaker))


def wordless_turns(spans: Sequence[tuple[float, float]], turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
    """The diarizer's turns (a speaker's turns a short pause apart joined) of WORDLESS_S or more that none
    of `spans` (words or segments) touches: a voice the recognizer wrote nothing for."""
    ordered = sorted(spans)
    starts = [start for start, _ in ordered]
    reach = list(itertools.accumulate((end for _, end in ordered), max))  # the latest end of any span so far

    def touched(start: float, end: float) -> bool:
        before = bisect.bisect_left(starts, end)  # spans that begin before the turn ends
        return before > 0 and reach[before - 1] > start

    return [t for t in _joined(turns) if t.end - t.start >= WORDLESS_S and not touched(t.start, t.end)]


def _others_over(segment: Segment, turns: list[SpeakerTurn]) -> float:
    return sum(
        max(0.0, min(segment.end, t.end) - max(segment.start, t.start)) for t in turns if t.speaker != segment.speaker
    )


def _joined(turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
    """A speaker's turns with only a short pause between them, as one."""
    joined: list[SpeakerTurn] = []
    for turn in sorted(turns, key=lambda t: t.start):
        last = next((j for j in reversed(joined) if j.speaker == turn.speaker), None)
        if last is not None and turn.start - last.end <= SENTENCE_GAP and joined[-1] is last:
            joined[-1] = SpeakerTurn(start=last.start, end=max(last.end, turn.end), speaker=turn.speaker)
        else:
            joined.append(turn)
    return joined


def _with_speaker(word: Word, speaker: int) -> Word:
    return Word(text=word.text, start=word.start, end=word.end, speaker=speaker)


def _overlap_by_speaker(words: list[Word], turns: list[SpeakerTurn], speakers: list[int]) -> np.ndarray:
    """Seconds each word (rows) overlaps each speaker's turns (columns, in `speakers` order)."""
    w_start = np.array([w.start for w in words], dtype=np.float64)
    w_end = np.maximum(np.array([w.end for w in words], dtype=np.float64), w_start + MIN_WORD)
    t_start = np.array([t.start for t in turns])
    t_end = np.array([t.end for t in turns])
    column = np.array([speakers.index(t.speaker) for t in turns])
    out = np.zeros((len(words), len(speakers)))
    # Blocks of words against only the turns near them keep memory flat on hours-long meetings.
    for lo in range(0, len(words), WORD_BLOCK):
        hi = min(lo + WORD_BLOCK, len(words))
        near = (t_end > w_start[lo:hi].min()) & (t_start < w_end[lo:hi].max())
        inter = np.minimum(w_end[lo:hi, None], t_end[None, near]) - np.maximum(
            w_start[lo:hi, None], t_start[None, near]
        )
        np.add.at(out[lo:hi].T, column[near], np.clip(inter, 0.0, None).T)
    return out


def _nearest_speaker(words: list[Word], turns: list[SpeakerTurn]) -> list[int]:
    """For words outside every turn: the speaker of the closest turn in time."""
    t_start = np.array([t.start for t in turns])
    t_end = np.array([t.end for t in turns])
    nearest = []
    for w in words:
        distance = np.maximum(np.maximum(t_start - w.end, w.start - t_end), 0.0)
        nearest.append(turns[int(np.argmin(distance))].speaker)
    return nearest


def _sentences(words: list[Word]) -> list[list[int]]:
    sentences: list[list[int]] = []
    current: list[int] = []
    for i, word in enumerate(words):
        if current and word.start - words[current[-1]].end >= SENTENCE_GAP:
            sentences.append(current)
            current = []
        current.append(i)
        if word.text.endswith(SENTENCE_END):
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _word_speaker(i: int, per_speaker: np.ndarray, nearest: list[int], speakers: list[int]) -> int:
    row = per_speaker[i]
    return speakers[int(np.argmax(row))] if row.max() > 0 else nearest[i]


def _majority(run: list[int], per_speaker: np.ndarray, nearest: list[int], speakers: list[int]) -> int:
    total = per_speaker[run].sum(axis=0)
    if total.max() > 0:
        return speakers[int(np.argmax(total))]
    return Counter(nearest[i] for i in run).most_common(1)[0][0]


def _runs(sentence: list[int], per_speaker: np.ndarray, nearest: list[int], speakers: list[int]) -> list[list[int]]:
    """The sentence cut where the word-level speaker changes, after folding short stretches back in."""
    labels: list[int] = []
    words_of: list[list[int]] = []
    for i in sentence:
        label = _word_speaker(i, per_speaker, nearest, speakers)
        if labels and labels[-1] == label:
            words_of[-1].append(i)
        else:
            labels.append(label)
            words_of.append([i])
    # Fold the shortest stretch into a neighbour until every remaining one is a sustained turn.
    while len(words_of) > 1:
        lengths = [_span(r, per_speaker) for r in words_of]
        shortest = int(np.argmin(lengths))
        if lengths[shortest] >= MIN_RUN:
            break
        neighbour = _fold_target(shortest, lengths)
        lo, hi = sorted((shortest, neighbour))
        words_of[lo : hi + 1] = [words_of[lo] + words_of[hi]]
        words_of = _merge_same(words_of, per_speaker, nearest, speakers)
    return words_of


def _span(run: list[int], per_speaker: np.ndarray) -> float:
    """Seconds of turn overlap a stretch carries, which is what makes it believable."""
    return float(per_speaker[run].sum())


def _fold_target(index: int, lengths: list[float]) -> int:
    if index == 0:
        return 1
    if index == len(lengths) - 1:
        return index - 1
    return index - 1 if lengths[index - 1] >= lengths[index + 1] else index + 1


def _merge_same(
    runs: list[list[int]], per_speaker: np.ndarray, nearest: list[int], speakers: list[int]
) -> list[list[int]]:
    merged: list[list[int]] = []
    labels: list[int] = []
    for run in runs:
        label = _majority(run, per_speaker, nearest, speakers)
        if labels and labels[-1] == label:
            merged[-1] = merged[-1] + run
        else:
            merged.append(run)
            labels.append(label)
    return merged
