"""Participants' names heard right: a second decoding told the names, trusted only where it wrote one.

Whisper given the names as hotwords writes them (tiny.en: "Kenji, please sign the lease" instead of
"can you? Please sign the lease"), but the hint also changes words elsewhere and now and then drops
a whole window (a lecture: 2.8 % WER without names, 4.2 % with; Whisper base 3.1 % and 11.1 %). So
the recording is decoded as usual, decoded again with the hints, and the two are aligned word by word:
a short stretch the second decoding wrote as a participant's name replaces what the first wrote
there; every other word comes from the first. Measured on six recordings (two meetings full of hard
names, four without them or with easy ones): names heard 8 of 16 → 15 of 16, WER 11.0 % → 10.3 %
(tiny.en); Whisper base 7 of 16 → 15 of 16, 10.8 % → 9.6 %.
"""

import difflib
import re
from collections.abc import Sequence

from reflector.pipelines.types import Word

# A name stands in for a mis-heard stretch this long at most ("can you" for "Kenji", "previous figs"
# for "Priya's fix"); longer disagreements are the two decodings differing about something else.
MAX_STRETCH = 3
# A long name is heard as more, shorter words ("all the way sun" for "Oluwaseun"): a longer stretch
# still counts as the same sound when it has about the name's letters.
MAX_LETTERS_RATIO = 1.5
# Where the decodings disagree about more than the name, the first's words heard within this much of the
# name's own time are what it replaces (word times of tiny.en are good to about a tenth of a second).
NAME_TIME_SLACK_S = 0.2

_NOT_LETTERS = re.compile(r"[^\w]+")


def name_key(text: str) -> str:
    """A word compared as a name: lower case, no punctuation, no possessive."""
    word = text.lower().replace("’", "'").strip(' .,!?;:"()')
    return _NOT_LETTERS.sub("", word.removesuffix("'s"))


def parse_names(text: str) -> list[str]:
    """ "Maria, Tom,, Priya" -> ["Maria", "Tom", "Priya"]: each name once, in the order given."""
    return list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))


def hint_text(names: Sequence[str]) -> str:
    """The hotwords Whisper is given: each distinct name once, in the order given."""
    return ", ".join(dict.fromkeys(n.strip() for n in names if n.strip()))


def name_keys(names: Sequence[str]) -> set[str]:
    """Every word of every name: "Kenji Sato" is heard as "Kenji" or "Sato" as often as whole."""
    return {name_key(part) for name in names for part in name.split() if name_key(part)}


def adopt_names(first: list[Word], hinted: list[Word], names: Sequence[str]) -> list[Word]:
    """`first` with the names `hinted` heard where `first` heard something else."""
    keys = name_keys(names)
    if not keys or not hinted:
        return first
    a, b = _keys(first), _keys(hinted)
    merged: list[Word] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        names_there = any(k in keys for k in b[j1:j2]) and not any(k in keys for k in a[i1:i2])
        if op in ("replace", "insert") and names_there and _same_stretch(a[i1:i2], b[j1:j2]):
            # The first decoding's speaker (assigned later) and times are not known yet: the hinted
            # words bring their own times, which lie where the stretch they replace was heard.
            merged.extend(hinted[j1:j2])
        elif op == "replace" and names_there:
            merged.extend(_names_by_time(first[i1:i2], hinted[j1:j2], keys, after=i1 > 0, before=i2 < len(a)))
        else:
            merged.extend(first[i1:i2])
    return merged


def _same_stretch(heard: list[str], named: list[str]) -> bool:
    """Whether `heard` (first decoding) can be the stretch the hinted decoding wrote as `named`."""
    if len(named) > MAX_STRETCH or len(heard) > 2 * MAX_STRETCH:
        return False
    letters = sum(map(len, heard))
    return len(heard) <= MAX_STRETCH or letters <= MAX_LETTERS_RATIO * sum(map(len, named)) + MAX_STRETCH


def _names_by_time(heard: list[Word], hinted: list[Word], keys: set[str], *, after: bool, before: bool) -> list[Word]:
    """`heard` with a name at an edge of `hinted` in place of the words heard at the name's time ("Thanks,
    Chivon. I will today" against "Thanks Siobhan. I'll be able to be": only "Chivon" becomes "Siobhan").

    Only at an edge where the decodings agree again (`after`: words both heard come just before, `before`:
    just after), and only over the heard words at that same edge: inside a long disagreement nothing
    tells which of the first decoding's words the name would be."""
    runs = _name_runs(hinted, keys)
    start, end = 0, len(heard)
    head: list[Word] = []
    rest: list[Word] = []
    if after and runs and runs[0][0] is hinted[0]:
        at = _heard_at(heard, runs[0])
        if at and at[0] == 0 and _same_stretch(_keys(heard[: at[-1] + 1]), _keys(runs[0])):
            head, start = runs[0], at[-1] + 1
    if before and runs and runs[-1][-1] is hinted[-1] and runs[-1] is not head:
        at = _heard_at(heard, runs[-1])
        if at and at[-1] == end - 1 and at[0] >= start and _same_stretch(_keys(heard[at[0] :]), _keys(runs[-1])):
            rest, end = runs[-1], at[0]
    return [*head, *heard[start:end], *rest]


def _heard_at(heard: list[Word], run: list[Word]) -> list[int]:
    lo, hi = run[0].start - NAME_TIME_SLACK_S, run[-1].end + NAME_TIME_SLACK_S
    return [k for k, w in enumerate(heard) if lo <= (w.start + w.end) / 2 <= hi]


def _keys(words: list[Word]) -> list[str]:
    return [name_key(w.text) for w in words]


def _name_runs(words: list[Word], keys: set[str]) -> list[list[Word]]:
    """The stretches of consecutive words that are names ("Kenji Sato" is one)."""
    runs: list[list[Word]] = []
    for before, word in zip([None, *words], words, strict=False):
        if name_key(word.text) not in keys:
            continue
        if before is not None and runs and runs[-1][-1] is before:
            runs[-1].append(word)
        else:
            runs.append([word])
    return runs
