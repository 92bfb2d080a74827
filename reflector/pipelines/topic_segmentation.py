"""Where a meeting's subject changes, read from the transcript's own words: no model call.

A small LLM asked for topic boundaries in one prompt finds one topic per meeting; the words tell more.
This is TextTiling (Hearst 1997) over sentences: at each sentence start, compare the content words of
the stretch before it with the stretch after it (cosine of their stem counts). Inside a topic the two
sides share words ("export", "tickets", "queue"); across a change of subject they share few. A gap whose
similarity sits in a valley (its *depth*: how far it lies below the peaks on either side) is a boundary
candidate. People also announce a new subject ("Now, events.", "Last item, the office move.", "Moving
on", "Speaking of food"): a sentence that opens with such a cue, said at the start of a speaker's turn
or right after a short acknowledgement, adds to its gap's score.

Boundaries are the best-scoring gaps that keep every topic at least `min_words` long, as many as clear
the threshold, and no more than the meeting's length allows (see TOPIC_GROWTH). The LLM then only titles and summarizes
each part (see topics.py).
"""

import math
import re
from collections import Counter
from collections.abc import Sequence

import msgspec

from reflector.pipelines.types import Word

# The stretch compared on each side of a gap, in content words (clipped to the transcript's ends): a
# fifth of the transcript's, within these bounds.
WINDOW_SHARE = 0.2
MIN_WINDOW = 20
MAX_WINDOW = 40
# Similarities are averaged over this many gaps on either side before the valleys are read.
SMOOTHING = 2
# A topic is at least this long; a meeting has at most one topic per WORDS_PER_TOPIC words, and fewer
# as it grows (√(words / TOPIC_GROWTH): 3 or 4 for 2.5 minutes, 6 for 10, 9 for 25), each a call to the LLM.
MIN_TOPIC_WORDS = 50
WORDS_PER_TOPIC = 100
TOPIC_GROWTH = 35
# A gap's depth counts when it clears this; a cue sentence adds CUE_BONUS to it.
DEPTH_THRESHOLD = 0.4
CUE_BONUS = 0.5

_STOP = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't
    down during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her
    here here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its
    itself let's me more most mustn't my myself no nor not of off on once only or other ought our ours
    ourselves out over own same shan't she she'd she'll she's should shouldn't so some such than that
    that's the their theirs them themselves then there there's these they they'd they'll they're they've
    this those through to too under until up very was wasn't we we'd we'll we're we've were weren't what
    what's when when's where where's which while who who's whom why why's will with won't would wouldn't
    you you'd you'll you're you've your yours yourself yourselves yes yeah okay ok right well just really
    so um uh oh actually think know like get got going go goes want thing things lot bit maybe sure good
    great thanks thank fine one two three now then also still much many way mean yes""".split()  # noqa: SIM905
)

# How a speaker opens a new subject, at the start of a sentence.
_CUE = re.compile(
    r"^(?:(?:ok(?:ay)?|right|alright|good|great|fine|perfect|thanks|thank you|anyway|well)[,.!]\s+|(?:so|and)\s+)*"
    r"(?:now\b(?! that)|next(?:,|\s+(?:the|on|to|for|let.s|let|about|we|i|onto)\b)|moving on|move on|let's move|"
    r"let us move|let's turn|turning to|on to\b|onto\b|"
    r"(?:last|final|next|first|second|third|another|one more|the other) (?:item|topic|thing|point|question)\b|"
    r"next up\b|finally\b|speaking of|changing the subject|switching gears|let's talk about|let's discuss|"
    r"let me tell you|on the subject of|as for\b|regarding\b)",
    re.IGNORECASE,
)
# A cue this far into a turn is part of what the speaker is saying, not the chair opening a subject.
CUE_REACH = 25
_SENTENCE_END = (".", "?", "!")
_TOKEN = re.compile(r"[a-z][a-z']+")


class Gap(msgspec.Struct, frozen=True):
    """A sentence start where a topic may begin."""

    index: int  # position in the words of the sentence's first word
    similarity: float  # cosine of the content words before and after
    depth: float  # how far the similarity lies below the peaks on either side
    cue: bool  # the sentence opens with a new-subject cue
    score: float


def _stem(token: str) -> str:
    token = token.removesuffix("'s").strip("'")
    for suffix in ("ings", "ing", "ied", "ies", "ed", "es", "ly", "s"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)]
    return token


def content_stems(text: str) -> list[str]:
    """The words that carry a subject: lower case, stop words out, crude stems."""
    tokens = _TOKEN.findall(text.lower().replace("’", "'"))
    return [_stem(t) for t in tokens if t not in _STOP and len(t) >= 3]


def sentence_starts(words: Sequence[Word]) -> list[int]:
    """Word positions where a sentence begins: after . ? ! and wherever the speaker changes."""
    starts = [0] if words else []
    for i in range(1, len(words)):
        if words[i - 1].text.rstrip().endswith(_SENTENCE_END) or words[i].speaker != words[i - 1].speaker:
            starts.append(i)
    return starts


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(count * b[stem] for stem, count in a.items())
    norm = math.sqrt(sum(c * c for c in a.values()) * sum(c * c for c in b.values()))
    return dot / norm if norm else 0.0


def _opens_subject(words: Sequence[Word], start: int) -> bool:
    """A cue at the sentence start, said as a turn opens or after a short acknowledgement in that turn."""
    sentence = " ".join(w.text.strip() for w in words[start : start + 8])
    if not _CUE.match(sentence):
        return False
    turn_start = start
    while turn_start > 0 and words[turn_start - 1].speaker == words[start].speaker:
        turn_start -= 1
    return start - turn_start <= CUE_REACH


def gaps(words: Sequence[Word], window: int | None = None) -> list[Gap]:
    """Every sentence start but the first, with its similarity, depth, cue and score."""
    starts = sentence_starts(words)
    # Each word's stems, and for each sentence start the number of content words before it.
    stems = [content_stems(w.text) for w in words]
    flat = [s for per_word in stems for s in per_word]
    before = [0]
    for per_word in stems:
        before.append(before[-1] + len(per_word))
    size = window or min(MAX_WINDOW, max(MIN_WINDOW, round(len(flat) * WINDOW_SHARE)))
    similarity = []
    for start in starts[1:]:
        at = before[start]
        similarity.append(_cosine(Counter(flat[max(0, at - size) : at]), Counter(flat[at : at + size])))
    similarity = _smoothed(similarity, SMOOTHING)
    result = []
    for i, start in enumerate(starts[1:]):
        depth = _peak(similarity, i, -1) + _peak(similarity, i, 1) - 2 * similarity[i]
        cue = _opens_subject(words, start)
        score = depth + (CUE_BONUS if cue else 0.0)
        result.append(Gap(start, round(similarity[i], 4), round(depth, 4), cue, round(score, 4)))
    return result


def _smoothed(values: list[float], width: int) -> list[float]:
    if width <= 0:
        return values
    return [
        sum(values[max(0, i - width) : i + width + 1]) / len(values[max(0, i - width) : i + width + 1])
        for i in range(len(values))
    ]


def _peak(values: list[float], at: int, step: int) -> float:
    """The highest value reached climbing from `at` in direction `step` while values keep rising."""
    best = values[at]
    i = at + step
    while 0 <= i < len(values) and values[i] >= best:
        best = values[i]
        i += step
    return best


def topic_starts(
    words: Sequence[Word],
    *,
    min_words: int = MIN_TOPIC_WORDS,
    words_per_topic: int = WORDS_PER_TOPIC,
    threshold: float = DEPTH_THRESHOLD,
    growth: float = TOPIC_GROWTH,
) -> list[int]:
    """Positions in `words` where each topic begins, 0 first."""
    if len(words) < 2 * min_words:
        return [0] if words else []
    most = max(1, min(len(words) // words_per_topic, round(math.sqrt(len(words) / growth))))
    chosen: list[int] = []
    for gap in sorted(gaps(words), key=lambda g: g.score, reverse=True):
        if len(chosen) + 1 >= most or gap.score < threshold:
            break
        edges = [0, *chosen, len(words)]
        if gap.index < min_words or len(words) - gap.index < min_words:
            continue
        if any(abs(gap.index - edge) < min_words for edge in edges):
            continue
        chosen.append(gap.index)
    return [0, *sorted(chosen)]


def split_topics(words: Sequence[Word], **options: int | float) -> list[list[Word]]:
    """The words cut where the subject changes (see `topic_starts`)."""
    starts = topic_starts(words, **options)  # type: ignore[arg-type]
    ends = [*starts[1:], len(words)]
    return [list(words[a:b]) for a, b in zip(starts, ends, strict=True)]
