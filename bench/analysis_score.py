"""Scores the analysis half of a pipeline run (topics, decisions, action items) against a gold file.

Pure functions, no models: `bench/analysis.py` calls `score_meeting` on each run and `totals` on the
set; `tests/unit/test_analysis_score.py` checks them on hand-made cases. The gold format is described
in `tests/analysis_gold/README.md`.

Matching by meaning is token overlap, on purpose (the machine has no model hub, and a number that can be
recomputed by hand is easier to argue about):

- a text's *content words* are its lower-cased words less a stop list, each cut to a stem by a few
  suffix rules ("updated", "updates", "updating" -> "updat") and a short table of irregular verbs
  ("wrote", "written" -> "write"); number words become digits ("sixty six" -> "66", "twelfth" -> "12",
  "$20,000" -> "20000"), so "the twelfth of May" and "May 12" share "12" and "may";
- two words match when their stems are equal, or when the shorter (4 letters or more) starts the longer
  ("recommend" matches "recommendation", "plan" does not match "planet");
- two texts' similarity is the Dice coefficient of their content words, 2·|A∩B| / (|A| + |B|), after
  dropping the names of the meeting's people (so "Kenji to sign the lease" is compared as "sign the
  lease"), and halved when only one text is negated ("No contractor for now" against "The support queue
  will be managed by Priya" shares "support queue" but says something else). A predicted item matches
  a gold item when the similarity is at least MATCH_THRESHOLD (0.4); pairs are matched one to one,
  most similar first.

Owners compare case-insensitively on the first name ("tom" = "Tom Baker"); a gold owner of null is
matched only by no owner. Dues compare by the same content words with a smaller stop list (keeping
"this", "next", "end"): Dice at least DUE_THRESHOLD (0.6), against the gold due or any of its `due_also`.

Topic boundaries are scored over the words of the script: each gold word carries its topic (from the
turn it is in), and each word's time is interpolated inside its turn's .stm interval; a predicted topic
that starts at t puts a boundary before the first word whose time is at or after t. Pk and WindowDiff
(Beeferman et al. 1999; Pevzner and Hearst 2002) use k = half the mean gold segment length in words.

Groundedness: the names (capitalised words not starting a sentence, outside Title Case titles, and any of
the meeting's people),
numbers and dates (weekdays, months, today/tomorrow/tonight/yesterday) in the title, summaries, topic
titles and summaries, decisions and items; a mention is grounded when the transcript's own words
contain it (case-insensitive; numbers after the number normalisation above).
"""

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

MATCH_THRESHOLD = 0.4
DUE_THRESHOLD = 0.6

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing done down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just let
    lets me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom why
    will with would you your yours yourself yourselves please okay ok sure yes well shall must need
    needs get gets got going go goes s t ll re ve d m""".split()  # noqa: SIM905
)
# Words that carry a due date's meaning: kept for dues although stop words elsewhere.
_DUE_KEEP = frozenset({"this", "next", "last", "end", "after", "before", "until", "early", "late", "first"})
_DUE_STOP = (STOPWORDS - _DUE_KEEP) | {"by", "on", "the", "of", "at", "in"}

_IRREGULAR = {
    "wrote": "write",
    "written": "write",
    "writing": "write",
    "went": "go",
    "sent": "send",
    "made": "make",
    "took": "take",
    "taken": "take",
    "bought": "buy",
    "brought": "bring",
    "told": "tell",
    "ran": "run",
    "found": "find",
    "gave": "give",
    "given": "give",
    "met": "meet",
    "spent": "spend",
    "kept": "keep",
    "paid": "pay",
    "set": "set",
    "put": "put",
    "chose": "choose",
    "chosen": "choose",
    "agreed": "agree",
    "decided": "decide",
    "docs": "documentation",
    "doc": "document",
}

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
    "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50, "sixtieth": 60, "seventieth": 70,
    "eightieth": 80, "ninetieth": 90, "hundredth": 100,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december",
)  # fmt: skip
DATE_WORDS = frozenset(WEEKDAYS + MONTHS + ("today", "tomorrow", "tonight", "yesterday"))
# Capitalised words that are not names of anything: a speaker label, the pronoun.
_NOT_NAMES = frozenset({"i", "speaker", "unknown", "none", "n/a", "tbd"})
_NO_OWNER = frozenset({"", "none", "null", "unknown", "unassigned", "n/a", "tbd", "nobody", "someone", "team"})

_WORD = re.compile(r"[A-Za-z][A-Za-z']*|\d+(?:[.,]\d+)*(?:st|nd|rd|th|k|m)?%?", re.IGNORECASE)


# ---------------------------------------------------------------- words


def raw_tokens(text: str) -> list[str]:
    """Lower-cased words and numbers, in order; "20,000" stays one token, "Kenji's" -> "kenji"."""
    out = []
    for token in _WORD.findall(text):
        token = token.lower()
        if token.endswith("'s"):
            token = token[:-2]
        out.append(token.strip("'"))
    return [t for t in out if t]


def _digit_value(token: str) -> str | None:
    m = re.fullmatch(r"(\d+(?:[.,]\d+)*)(st|nd|rd|th|k|m)?%?", token)
    if not m:
        return None
    number = m.group(1)
    # A comma between groups of three is a thousands separator, otherwise a decimal comma.
    number = number.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", number) else number.replace(",", ".")
    value = float(number)
    if m.group(2) == "k":
        value *= 1000
    elif m.group(2) == "m":
        value *= 1_000_000
    return _canonical(value)


def _canonical(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def normalize_numbers(tokens: Sequence[str]) -> list[str]:
    """Runs of number words become one digit token: "sixty six" -> "66", "a hundred and twenty" -> "120",
    "two point one" -> "2.1", "twelfth" -> "12"; digit tokens are canonicalised ("$20,000" -> "20000")."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        digits = _digit_value(token)
        if digits is not None:
            out.append(digits)
            i += 1
            continue
        if token in _ORDINALS:
            out.append(str(_ORDINALS[token]))
            i += 1
            continue
        starts_number = (
            token in _UNITS
            or token in _TENS
            or (token == "a" and i + 1 < len(tokens) and tokens[i + 1] in ("hundred", "thousand", "million"))
        )
        if not starts_number:
            out.append(token)
            i += 1
            continue
        total, current, j, last = 0, 0, i, None
        while j < len(tokens):
            word = tokens[j]
            if word == "a" and j == i:
                current, last = 1, "unit"
            elif word in _UNITS and last in (None, "tens", "scale", "and"):
                current += _UNITS[word]
                last = "unit"
            elif word in _TENS and last in (None, "scale", "and"):
                current += _TENS[word]
                last = "tens"
            elif word in _ORDINALS and last in ("tens", "scale", "and") and _ORDINALS[word] < 10:
                current += _ORDINALS[word]  # "twenty first"
                last = "unit"
                j += 1
                break
            elif word in _SCALES and last in ("unit", "tens", "scale"):
                scale = _SCALES[word]
                if scale == 100:
                    current = (current or 1) * 100
                else:
                    total += (current or 1) * scale
                    current = 0
                last = "scale"
            elif (
                word == "and"
                and last == "scale"
                and j + 1 < len(tokens)
                and (tokens[j + 1] in _UNITS or tokens[j + 1] in _TENS)
            ):
                last = "and"
            else:
                break
            j += 1
        value: float = total + current
        # "two point one": a decimal part of single digits.
        if j + 1 < len(tokens) and tokens[j] == "point" and tokens[j + 1] in _UNITS:
            decimals = ""
            j += 1
            while j < len(tokens) and tokens[j] in _UNITS and _UNITS[tokens[j]] < 10:
                decimals += str(_UNITS[tokens[j]])
                j += 1
            value = float(f"{int(value)}.{decimals}")
        out.append(_canonical(value))
        i = j
    return out


def stem(word: str) -> str:
    """A lemma-lite: irregular verbs from a table, then one suffix rule, then a final "e"."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word[0].isdigit():
        return word
    for suffix, replacement, min_len in (
        ("ies", "y", 5),
        ("ied", "y", 5),
        ("ing", "", 6),
        ("ed", "", 5),
        ("es", "", 5),
        ("s", "", 4),
    ):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
            word = word[: len(word) - len(suffix)] + replacement
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # "planned" -> "plan"
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def content_words(text: str, ignore: Iterable[str] = (), stop: frozenset[str] = STOPWORDS) -> set[str]:
    ignored = {w.lower() for w in ignore}
    return {stem(t) for t in normalize_numbers(raw_tokens(text)) if t not in stop and t not in ignored}


def _words_match(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and long.startswith(short) and not short[0].isdigit()


def _overlap(a: set[str], b: set[str]) -> int:
    """Size of a one-to-one matching of words of `a` to words of `b`."""
    remaining = set(b)
    count = 0
    for word in sorted(a, key=lambda w: (w not in b, -len(w))):
        partner = word if word in remaining else next((w for w in sorted(remaining) if _words_match(word, w)), None)
        if partner is not None:
            remaining.discard(partner)
            count += 1
    return count


def dice(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    return 2 * _overlap(a, b) / (len(a) + len(b))


_NEGATIONS = frozenset({"no", "not", "never", "without", "none", "nobody", "nothing", "neither", "nor"})
# A negation on one side only ("No contractor for now" against "Hire a contractor") halves the overlap:
# the stop list drops the very word that makes a decision the opposite of another.
NEGATION_FACTOR = 0.5


def negated(text: str) -> bool:
    return any(t in _NEGATIONS or t.endswith("n't") for t in raw_tokens(text))


def similarity(a: str, b: str, names: Iterable[str] = ()) -> float:
    """Meaning overlap of two short texts in [0, 1]: Dice of content words, people's names left out,
    halved when only one of them is negated."""
    names = list(names)
    score = dice(content_words(a, names), content_words(b, names))
    return score * NEGATION_FACTOR if negated(a) != negated(b) else score


def match(
    predicted: Sequence[str], gold: Sequence[str], names: Iterable[str] = (), threshold: float = MATCH_THRESHOLD
) -> list[tuple[int, int, float]]:
    """One-to-one (predicted index, gold index, similarity) pairs at or over `threshold`, best first."""
    names = list(names)
    pred_words = [(content_words(p, names), negated(p)) for p in predicted]
    gold_words = [(content_words(g, names), negated(g)) for g in gold]
    candidates = sorted(
        (
            (dice(p, g) * (NEGATION_FACTOR if p_neg != g_neg else 1.0), i, j)
            for i, (p, p_neg) in enumerate(pred_words)
            for j, (g, g_neg) in enumerate(gold_words)
        ),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    used_pred: set[int] = set()
    used_gold: set[int] = set()
    pairs = []
    for score, i, j in candidates:
        if score < threshold:
            break
        if i in used_pred or j in used_gold:
            continue
        used_pred.add(i)
        used_gold.add(j)
        pairs.append((i, j, score))
    return pairs


# ---------------------------------------------------------------- owners and dues


def owner_key(owner: str | None) -> str | None:
    """The owner as compared: first name, lower case; None for no owner."""
    if owner is None:
        return None
    text = owner.strip().lower()
    if text in _NO_OWNER or not text:
        return None
    return raw_tokens(text)[0] if raw_tokens(text) else None


def owner_correct(predicted: str | None, gold: str | None) -> bool:
    return owner_key(predicted) == owner_key(gold)


def due_correct(predicted: str | None, gold: str | None, also: Sequence[str] = ()) -> bool:
    if not gold:
        return not (predicted or "").strip() or (predicted or "").strip().lower() in _NO_OWNER
    if not predicted:
        return False
    words = content_words(predicted, stop=_DUE_STOP)
    return any(dice(words, content_words(g, stop=_DUE_STOP)) >= DUE_THRESHOLD for g in (gold, *also))


# ---------------------------------------------------------------- topics


@dataclass(frozen=True)
class StmTurn:
    speaker: str
    start: float
    end: float
    text: str


def read_stm(text: str) -> list[StmTurn]:
    """make_meeting.py's .stm: `NAME 1 SPEAKER START END TEXT`, one turn a line, in script order."""
    turns = []
    for line in text.splitlines():
        parts = line.split(" ", 5)
        if len(parts) < 5:
            continue
        turns.append(StmTurn(parts[2], float(parts[3]), float(parts[4]), parts[5] if len(parts) > 5 else ""))
    return turns


def reference_words(turns: Sequence[StmTurn], topic_starts: Sequence[int]) -> tuple[list[float], list[int]]:
    """(time of each script word, gold topic index of each): times spread evenly over each turn's interval."""
    times, labels = [], []
    starts = sorted(topic_starts)
    for index, turn in enumerate(turns):
        words = turn.text.split()
        topic = max(0, sum(1 for s in starts if s <= index) - 1)
        for j in range(len(words)):
            times.append(turn.start + (turn.end - turn.start) * (j + 0.5) / len(words))
            labels.append(topic)
    return times, labels


def labels_from_starts(times: Sequence[float], starts: Sequence[float]) -> list[int]:
    """Segment index of each word for segments beginning at `starts` (the first one's start is ignored)."""
    boundaries = sorted(starts)[1:]
    return [sum(1 for b in boundaries if b <= t) for t in times]


def _default_k(reference: Sequence[int]) -> int:
    segments = 1 + sum(1 for a, b in itertools.pairwise(reference) if a != b)
    return max(1, round(len(reference) / segments / 2))


def pk(reference: Sequence[int], hypothesis: Sequence[int], k: int | None = None) -> float:
    """Share of windows of width k whose ends are in the same segment by one and not by the other."""
    if len(reference) != len(hypothesis):
        raise ValueError("segmentations of different lengths")
    k = k or _default_k(reference)
    n = len(reference) - k
    if n <= 0:
        return 0.0
    errors = sum((reference[i] == reference[i + k]) != (hypothesis[i] == hypothesis[i + k]) for i in range(n))
    return errors / n


def window_diff(reference: Sequence[int], hypothesis: Sequence[int], k: int | None = None) -> float:
    """Share of windows of width k in which the two count a different number of boundaries."""
    if len(reference) != len(hypothesis):
        raise ValueError("segmentations of different lengths")
    k = k or _default_k(reference)
    n = len(reference) - k
    if n <= 0:
        return 0.0

    def boundaries(labels: Sequence[int], i: int) -> int:
        return sum(labels[j] != labels[j - 1] for j in range(i + 1, i + k + 1))

    return sum(boundaries(reference, i) != boundaries(hypothesis, i) for i in range(n)) / n


# ---------------------------------------------------------------- groundedness


@dataclass(frozen=True)
class Mention:
    kind: str  # "name", "number" or "date"
    text: str
    grounded: bool


def _title_case(words: Sequence[str]) -> bool:
    """A "Mobile App Launch" title capitalises common words: in one, only the meeting's people count as
    names (an invented name in a Title Case title goes unnoticed)."""
    long = [w for w in words[1:] if w[0].isalpha() and len(w) > 3]
    return len(long) >= 2 and sum(w[0].isupper() for w in long) >= 0.6 * len(long)


def mentions(text: str, people: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(kind, normalised text) of the names, numbers and dates in `text`."""
    people_keys = {p.lower() for p in people}
    found: list[tuple[str, str]] = []
    for sentence in re.split(r"(?<=[.!?:;])\s+|\n+", text):
        words = re.findall(r"[A-Za-z][A-Za-z'\-]*|\d[\d,.:]*\w*%?", sentence)
        title_case = _title_case(words)
        for position, word in enumerate(words):
            bare = word[:-2] if word.endswith("'s") else word
            key = bare.lower()
            if key in DATE_WORDS:
                if key != "may" or bare[0] == "M":
                    found.append(("date", key))
                continue
            if not bare[0].isupper() or key in _NOT_NAMES:
                continue
            if key in people_keys or (position > 0 and key not in STOPWORDS and not title_case):
                found.append(("name", key))
        for token in normalize_numbers(raw_tokens(sentence)):
            if token[0].isdigit():
                found.append(("number", token))
    # "Speaker 2" is a label the pipeline gave, not a number the meeting said.
    labels = re.findall(r"\bSpeaker\s+(\d+)", text)
    for label in labels:
        if ("number", label) in found:
            found.remove(("number", label))
    return found


def transcript_vocabulary(transcript: str) -> set[str]:
    """Every word (lower case, possessive cut) and every normalised number of the transcript."""
    tokens = raw_tokens(transcript)
    return set(tokens) | set(normalize_numbers(tokens))


def groundedness(
    texts: Iterable[str], transcript: str, people: Iterable[str] = (), given: Iterable[str] = ()
) -> list[Mention]:
    """Each name, number and date of `texts`, grounded when the transcript has it; `given`: names the
    pipeline was told (known participants), grounded too."""
    vocabulary = transcript_vocabulary(transcript) | {g.lower() for g in given}
    people = list(people)
    out = []
    for text in texts:
        for kind, key in mentions(text, people):
            grounded = key in vocabulary or all(part in vocabulary for part in raw_tokens(key))
            out.append(Mention(kind, key, grounded))
    return out


# ---------------------------------------------------------------- one meeting


@dataclass
class MeetingScore:
    name: str
    held_out: bool
    gold_items: int = 0
    predicted_items: int = 0
    matched_items: int = 0
    owners_correct: int = 0
    dues_correct: int = 0
    gold_decisions: int = 0
    predicted_decisions: int = 0
    matched_decisions: int = 0
    gold_topics: int = 0
    predicted_topics: int = 0
    pk: float | None = None
    window_diff: float | None = None
    mentions: int = 0
    grounded_mentions: int = 0
    invented_decisions: int | None = None  # only where the gold has none
    invented_items: int | None = None
    ungrounded: list[str] = field(default_factory=list)
    item_pairs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def item_precision(self) -> float | None:
        return _ratio(self.matched_items, self.predicted_items, self.gold_items)

    @property
    def item_recall(self) -> float | None:
        return _ratio(self.matched_items, self.gold_items, self.predicted_items)

    @property
    def owner_accuracy(self) -> float | None:
        return self.owners_correct / self.matched_items if self.matched_items else None

    @property
    def due_accuracy(self) -> float | None:
        return self.dues_correct / self.matched_items if self.matched_items else None

    @property
    def decision_precision(self) -> float | None:
        return _ratio(self.matched_decisions, self.predicted_decisions, self.gold_decisions)

    @property
    def decision_recall(self) -> float | None:
        return _ratio(self.matched_decisions, self.gold_decisions, self.predicted_decisions)

    @property
    def decision_f1(self) -> float | None:
        return _f1(self.decision_precision, self.decision_recall)

    @property
    def groundedness(self) -> float | None:
        return self.grounded_mentions / self.mentions if self.mentions else None

    @property
    def topic_count_error(self) -> int:
        return self.predicted_topics - self.gold_topics

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in (
            "item_precision",
            "item_recall",
            "owner_accuracy",
            "due_accuracy",
            "decision_precision",
            "decision_recall",
            "decision_f1",
            "groundedness",
            "topic_count_error",
        ):
            out[name] = getattr(self, name)
        return out


def _ratio(hits: int, total: int, other: int) -> float | None:
    """hits/total; an empty prediction of an empty gold is perfect, undefined otherwise when total is 0."""
    if total:
        return hits / total
    return 1.0 if other == 0 else None


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None if p is None and r is None else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def people_of(gold: dict[str, Any]) -> list[str]:
    """The meeting's people: its speakers and every owner the gold names."""
    names = list(gold.get("speakers", {}).values())
    names += [i["owner"] for i in gold.get("action_items", []) if i.get("owner")]
    names += gold.get("people", [])
    return list(dict.fromkeys(names))


def analysis_texts(result: dict[str, Any]) -> list[str]:
    """Every text the analysis wrote: what groundedness reads."""
    texts = [result.get("title", ""), result.get("short_summary", ""), result.get("long_summary", "")]
    for topic in result.get("topics", []):
        texts += [topic.get("title", ""), topic.get("summary", "")]
    texts += result.get("decisions", [])
    for item in result.get("action_items", []):
        texts += [item.get("task") or "", item.get("owner") or "", item.get("due") or ""]
    return [t for t in texts if t]


def transcript_text(result: dict[str, Any]) -> str:
    return " ".join(w["text"] for w in result.get("words", []))


def score_meeting(
    name: str,
    gold: dict[str, Any],
    stm: Sequence[StmTurn],
    result: dict[str, Any],
    participants: Iterable[str] = (),
) -> MeetingScore:
    """Score a `reflector process --format json`-shaped result against its gold and script timing;
    `participants`: the names the pipeline was given, which count as grounded."""
    people = people_of(gold)
    score = MeetingScore(name=name, held_out=bool(gold.get("held_out")))

    gold_items = gold.get("action_items", [])
    items = result.get("action_items", [])
    score.gold_items, score.predicted_items = len(gold_items), len(items)
    for i, j, sim in match([it.get("task") or "" for it in items], [g["task"] for g in gold_items], people):
        predicted, expected = items[i], gold_items[j]
        owner_ok = owner_correct(predicted.get("owner"), expected.get("owner"))
        due_ok = due_correct(predicted.get("due"), expected.get("due"), expected.get("due_also", []))
        score.matched_items += 1
        score.owners_correct += owner_ok
        score.dues_correct += due_ok
        score.item_pairs.append(
            {
                "gold": expected,
                "predicted": predicted,
                "similarity": round(sim, 3),
                "owner_ok": owner_ok,
                "due_ok": due_ok,
            }
        )

    gold_decisions = gold.get("decisions", [])
    decisions = result.get("decisions", [])
    score.gold_decisions, score.predicted_decisions = len(gold_decisions), len(decisions)
    score.matched_decisions = len(match(decisions, gold_decisions, people))
    if not gold_decisions:
        score.invented_decisions = len(decisions)
    if not gold_items:
        score.invented_items = len(items)

    topics = result.get("topics", [])
    gold_topics = gold.get("topics", [])
    score.gold_topics, score.predicted_topics = len(gold_topics), len(topics)
    times, reference = reference_words(stm, [t["first_turn_index"] for t in gold_topics])
    if reference:
        hypothesis = labels_from_starts(times, [t["start"] for t in topics] or [0.0])
        score.pk = pk(reference, hypothesis)
        score.window_diff = window_diff(reference, hypothesis)

    found = groundedness(analysis_texts(result), transcript_text(result), people, participants)
    score.mentions = len(found)
    score.grounded_mentions = sum(m.grounded for m in found)
    score.ungrounded = sorted({f"{m.kind}:{m.text}" for m in found if not m.grounded})
    return score


# ---------------------------------------------------------------- a set of meetings


def totals(scores: Sequence[MeetingScore]) -> dict[str, Any]:
    """Micro-averaged over the meetings (items and decisions pooled), Pk and WindowDiff averaged."""

    def total(attr: str) -> int:
        return sum(getattr(s, attr) for s in scores)

    pooled = MeetingScore(name="total", held_out=False)
    for attr in (
        "gold_items",
        "predicted_items",
        "matched_items",
        "owners_correct",
        "dues_correct",
        "gold_decisions",
        "predicted_decisions",
        "matched_decisions",
        "gold_topics",
        "predicted_topics",
        "mentions",
        "grounded_mentions",
    ):
        setattr(pooled, attr, total(attr))
    pks = [s.pk for s in scores if s.pk is not None]
    wds = [s.window_diff for s in scores if s.window_diff is not None]
    invented_on = [s for s in scores if s.invented_decisions is not None or s.invented_items is not None]
    return {
        "meetings": len(scores),
        "item_precision": pooled.item_precision,
        "item_recall": pooled.item_recall,
        "owner_accuracy": pooled.owner_accuracy,
        "due_accuracy": pooled.due_accuracy,
        "decision_precision": pooled.decision_precision,
        "decision_recall": pooled.decision_recall,
        "decision_f1": pooled.decision_f1,
        "pk": sum(pks) / len(pks) if pks else None,
        "window_diff": sum(wds) / len(wds) if wds else None,
        "topic_count_within_1": sum(abs(s.topic_count_error) <= 1 for s in scores),
        "groundedness": pooled.groundedness,
        "invented": sum((s.invented_decisions or 0) + (s.invented_items or 0) for s in invented_on),
        "meetings_with_none": len(invented_on),
    }


# What the issue asks of the set (issue 16): metric -> (comparison, target).
TARGETS: dict[str, tuple[str, float]] = {
    "item_precision": (">=", 0.8),
    "item_recall": (">=", 0.8),
    "owner_accuracy": (">=", 0.85),
    "decision_f1": (">=", 0.7),
    "pk": ("<=", 0.3),
    "groundedness": (">=", 0.95),
    "invented": ("<=", 0),
}


def meets(metric: str, value: float | None) -> bool | None:
    if value is None or metric not in TARGETS:
        return None
    op, target = TARGETS[metric]
    return value >= target if op == ">=" else value <= target
