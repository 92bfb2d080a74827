"""Checks that what the LLM wrote is backed by the transcript: no invented names or numbers.

A small model turns "sixty thousand dollars" into "$60,000" (fine) but also now and then into a
person or a figure nobody said (not fine). We cannot check meaning, but we can check the two
things people act on: names and numbers. A number counts as grounded when its value was said
(in digits or in words); a capitalized word when the transcript or the speaker names contain it,
or when it is an ordinary English word that starts sentences and titles. On a short or unusual
transcript the model also falls back on stock phrases ("The decision was made to continue the
discussion"): a sentence must share at least one content word with the transcript to be kept.
"""

import re
from collections.abc import Iterable

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_SUFFIX_SCALES = {"k": 1_000, "m": 1_000_000, "bn": 1_000_000_000}


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words a summary starts sentences or titles with that are never names. Everything else
# capitalized must appear in the transcript.
COMMON_WORDS = _wordset(
    """
    a about above across action actions added additionally after afterwards again against agenda agreed
    all allocation also although among an analysis and another any approach are as at attendees
    because before being both brief briefly but by call challenges change changes check concern
    concerns conclusion confirmed consensus currently decided decision decisions despite detail
    details discussed discussion during each either else every everyone everything finally first
    following follow for from further furthermore given going had has have he her here highlighted
    his however i if in including initial instead is issue issues it item items its key lastly
    later meanwhile meeting members moreover most next no none not notes noted now of on one only or
    other others otherwise our outcome outcomes overall overview owner participants plan planning
    plans points previously progress project proposal proposed question questions recap regarding
    review reviewed second see she since so some status steps strategy summary sync team that the
    their then there therefore these they third this those though through throughout thus to today
    topic topics under update updates upon we were what when where whether which while who will with
    within without yet you your
    """
)

# Words a summary uses about any meeting, and function words: neither shows what this one was about.
_META_WORDS = _wordset(
    """about above across after again against agenda agreed also although among another attendees
    because been before being both brief briefly brought cannot concluded conclusion consensus
    continue continued conversation could covered decided decision decisions described discuss
    discussed discussing discussion does done during each either else emphasized ensure everyone
    every explained focus focused following from further group have here however important into
    just made mainly meeting meetings members mentioned more most much must need needed noted only
    other over overall participants points provided raised recap regarding said same shared should
    since some speaker speakers speaking stated such suggested summary summarized talk talked
    talking team than that their them then there these they this those through topic topics under
    until upon various very were what when where whether which while will with within without
    would your
    all and any are but can did few for get got had has her him his how its let may new not now our
    out own put say see she the too two use was way who why yes you"""
)

_NUMBER = re.compile(
    r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)(?::(\d{2}))?"
    r"(?:\s?(thousand|million|billion)\b|(k|m|bn)\b|\s?(?:am|pm|a\.m\.|p\.m\.)|\s?%)?",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9$])")


def _normal(value: float) -> float:
    return round(value, 4)


def _digit_numbers(text: str) -> set[float]:
    values: set[float] = set()
    for match in _NUMBER.finditer(text):
        digits, minutes, word_scale, suffix_scale = match.groups()
        try:
            value = float(digits.replace(",", ""))
        except ValueError:
            continue
        scale = _SCALES.get((word_scale or "").lower()) or _SUFFIX_SCALES.get((suffix_scale or "").lower(), 1)
        values.add(_normal(value * scale))
        if minutes and int(minutes):
            values.add(float(int(minutes)))
    return values


def _spoken_numbers(words: list[str]) -> set[float]:
    """Values of runs of number words: "seventy five thousand" -> 75000, "two thirty" -> 2, 30."""
    values: set[float] = set()
    total = current = 0
    in_run = False

    def flush() -> None:
        nonlocal total, current, in_run
        if in_run:
            values.add(float(total + current))
        total = current = 0
        in_run = False

    for word in words:
        if word in _UNITS or word in _TENS:
            small = _UNITS.get(word, _TENS.get(word, 0))
            # "sixty six" is one number; "two thirty" or "twenty twenty" are two.
            if in_run and current % 100 and (current % 10 or word in _TENS or small >= 10):
                flush()
            current += small
            in_run = True
        elif word == "hundred" and in_run:
            current = (current or 1) * 100
        elif word in _SCALES and in_run:
            total += (current or 1) * _SCALES[word]
            current = 0
        elif word == "and" and in_run:
            continue
        else:
            flush()
    flush()
    return values


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'").removesuffix("'s") for w in _WORD.findall(text)]


def _stem(word: str) -> str:
    """A crude stem, enough to match "Americans" with "American" and "migrate" with "migration"."""
    return word[:5]


def _content_stems(text: str) -> set[str]:
    return {_stem(w) for w in _words(text) if len(w) >= 3 and w not in _META_WORDS}


class Grounding:
    """What a transcript (plus the speaker names) says, to test generated text against."""

    def __init__(self, transcript: str, names: Iterable[str] = ()) -> None:
        names = [n for n in names if n]
        source = " ".join([transcript, *names])
        words = _words(source)
        self.vocabulary = frozenset(words)
        self.stems = frozenset(_stem(w) for w in words if len(w) >= 3)
        self.numbers = frozenset(_digit_numbers(source) | _spoken_numbers(words))
        self.people = {n.strip().lower(): n.strip() for n in names}
        for word in _mentioned_names(transcript):
            self.people.setdefault(word.lower(), word)

    def unknown_numbers(self, text: str) -> set[float]:
        said = _digit_numbers(text) | _spoken_numbers(_words(text))
        # "one" is as often a pronoun ("the one who") as a count.
        return {n for n in said if n not in self.numbers and not (n == 1 and not re.search(r"\b1\b", text))}

    def _said(self, word: str) -> bool:
        """Whether the word, or its singular or plural ("American" for "Americans"), was said."""
        forms = {word, word + "s", word + "es", word.removesuffix("s"), word.removesuffix("es")}
        return not forms.isdisjoint(self.vocabulary)

    def knows(self, word: str) -> bool:
        """Whether a single word (a name, or a possessive of one) was said or is a speaker's name."""
        word = word.lower().replace("’", "'").removesuffix("'s")
        return self._said(word) or word in self.people

    def unknown_words(self, text: str) -> list[str]:
        """Capitalized words the transcript never says, read as names of people, places or firms."""
        unknown = []
        for sentence in split_sentences(text):
            tokens = list(re.finditer(r"[\w'’]+", sentence))
            for index, match in enumerate(tokens):
                token = match.group()
                if not token[0].isupper():
                    continue
                word = token.lower().replace("’", "'")
                if word.endswith("'s"):
                    word = word.removesuffix("'s")
                elif "'" in word or word == "i":  # I'll, Let's
                    continue
                if self._said(word) or word in COMMON_WORDS:
                    continue
                following = tokens[index + 1].group().lower() if index + 1 < len(tokens) else ""
                if index == 0 and not _names_someone(token, following):
                    continue  # "Prepare the plan": a sentence opens with a verb or an adverb
                unknown.append(token)
        return unknown

    def is_on_topic(self, text: str) -> bool:
        """Whether the text shares a content word with the transcript (a stock phrase does not)."""
        return bool(_content_stems(text) & self.stems) or bool(_digit_numbers(text) & self.numbers)

    def is_grounded(self, text: str) -> bool:
        return not self.unknown_numbers(text) and not self.unknown_words(text)

    def keep_grounded_sentences(self, text: str) -> str:
        """The text without the sentences that name an unknown person or number or are off topic."""
        kept = [s for s in split_sentences(text) if self.is_grounded(s) and self.is_on_topic(s)]
        return " ".join(kept)

    def person(self, owner: str | None) -> str | None:
        """The name as the transcript spells it, or None when nobody of that name spoke or was named."""
        if not owner:
            return None
        key = owner.strip().lower()
        if key in self.people:
            return self.people[key]
        # "Bob Smith" for a transcript that only says "Bob", "Alice and Bob": keep what we can vouch for.
        known = [self.people[part] for part in re.findall(r"[\w']+", key) if part in self.people]
        return " and ".join(dict.fromkeys(known)) or None

    def due(self, due: str | None) -> str | None:
        """A deadline is kept only when every word and number of it was said."""
        if not due or not due.strip():
            return None
        words = [w for w in _words(due) if w not in _FILLER]
        if self.unknown_numbers(due) or not all(w in self.vocabulary or w in _UNITS for w in words):
            return None
        return due.strip()


_FILLER = _wordset("a an the by on at in before end of until no later than am pm")
# Capitalized words a speaker says before a comma ("Right, so ...") that are not people.
_NOT_PEOPLE = _wordset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december right great good sure yes yeah okay ok
    well thanks perfect hi hello sorry anyway actually alright fine cool"""
)


# Words that follow a person's name at the start of a sentence ("Sarah will ...", "Tom and ...").
_NAME_FOLLOWERS = _wordset(
    """will and or from said says agreed agrees asked asks is was has had would should can could
    wants wanted needs needed thinks thought suggested proposed mentioned noted explained"""
)


def _names_someone(token: str, following: str) -> bool:
    """Whether a sentence-opening capitalized word reads as a name rather than a verb or adverb."""
    if token.lower().endswith("'s") or any(c.isdigit() for c in token) or token.isupper():
        return True
    return following in _NAME_FOLLOWERS or (following.endswith("ed") and len(following) > 3)


_SPEAKER_PREFIX = re.compile(r"^[\w .'-]{1,40}:\s+")


def _mentioned_names(transcript: str) -> set[str]:
    """Capitalized words used as names: mid-sentence ("Thanks Carol") or addressed ("Bob, can you")."""
    names = set()
    # "Dana: Can you ..." lines: the speaker prefix is not part of the sentence.
    speech = "\n".join(_SPEAKER_PREFIX.sub("", line) for line in transcript.splitlines())
    sentences = [s for line in speech.splitlines() for s in split_sentences(line)]
    for sentence in sentences:
        for match in re.finditer(r"\b([A-Z][a-z]+)(?:'s)?\b(,?)", sentence):
            word, comma = match.groups()
            at_start = match.start() == len(sentence) - len(sentence.lstrip("\"'(["))
            if (at_start and not comma) or word.lower() in COMMON_WORDS or word.lower() in _NOT_PEOPLE:
                continue
            names.add(word)
    return names


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def whole_sentences(text: str) -> str:
    """`text` without a last sentence cut off before its end (a reply field stopped at its length cap); a
    text that is one unfinished sentence is kept as it is."""
    sentences = split_sentences(text)
    if len(sentences) > 1 and not sentences[-1].rstrip("\"')").endswith((".", "!", "?")):
        sentences.pop()
    return " ".join(sentences)


# In a Title Case title every word is capitalized, so only these show that the next word is a name.
_BEFORE_NAMES = _wordset("with and by from for to at & vs versus")


def _title_cased(words: list[str]) -> bool:
    long = [w for w in words if len(w) >= 4 and w[0].isalpha()]
    return bool(long) and sum(w[0].isupper() for w in long) >= 0.6 * len(long)


def clean_title(title: str, grounding: Grounding, *, max_words: int = 10) -> str:
    """A title without quotes, trailing punctuation or unknown names/numbers, at most `max_words`.

    Small models write titles in Title Case, where a capital says nothing: there an unknown word is
    dropped only when it reads as a name ("with Sarah", "Sarah's", an acronym), so "American Values"
    keeps "Values" but "Review with Sarah" loses "Sarah". Off-topic stock titles give "".
    """
    title = title.strip().strip("\"'“”‘’*#").strip()
    title = re.sub(r"^(title|meeting title)\s*:\s*", "", title, flags=re.IGNORECASE)
    words = title.split()
    unknown = set(grounding.unknown_words(title))
    title_case = _title_cased(words)
    kept: list[str] = []
    for index, word in enumerate(words):
        bare = word.strip(",.;:!?\"'“”()")
        if any(c.isdigit() for c in bare) and grounding.unknown_numbers(bare):
            continue
        if title_case:
            previous = words[index - 1].lower() if index else ""
            reads_as_name = bare.isupper() or bare.lower().endswith(("'s", "’s")) or previous in _BEFORE_NAMES
            if bare[:1].isupper() and reads_as_name and not grounding.knows(bare):
                continue
        elif bare in unknown:
            continue
        kept.append(word)
    # A connector left dangling by a dropped name: "Review with and Evan", "Plan for".
    while kept and kept[-1].lower() in _BEFORE_NAMES:
        kept.pop()
    kept = [
        w
        for i, w in enumerate(kept)
        if not (w.lower() in _BEFORE_NAMES and i + 1 < len(kept) and kept[i + 1].lower() in _BEFORE_NAMES)
    ]
    title = " ".join(kept[:max_words]).strip(" ,.;:-–—")
    return title if grounding.is_on_topic(title) else ""
