"""Speakers named from what the meeting says: who introduces themself, who answers when addressed.

"Kenji, how many tickets are open?" (or "Now hiring, Femi", handing over; "Okay, the bug, Priya, can you
...?"; "Gareth, you're on the refunds. Please send ...") followed by another voice
answering makes that voice a candidate for Kenji; "Thanks Priya." opening a turn points back at the
voice before; "I'm Kenji" names the voice saying it. Each name goes to one voice and each voice gets
one name, only where nothing says otherwise; the lines that support it are kept, so a person can see
why and undo it. Nothing here guesses a name the transcript does not contain.

Without a list of participants a name needs the meeting to say so more than once: any capitalized word
could be one ("Firstly, ..."). With the participants people gave, one answer to a name is enough, and
when every voice but one is named and one participant is left, the last voice is that participant.
"""

import re
from collections import Counter, defaultdict
from collections.abc import Sequence

import msgspec

from reflector.pipelines.assemble import segments_from_words
from reflector.pipelines.grounding import split_sentences
from reflector.pipelines.names import name_key
from reflector.pipelines.types import Segment, Word, speaker_label

# An introduction is worth two answers: people rarely say "I'm Kenji" when they are not.
INTRODUCTION = 2
# Votes a name needs (without and with the participants' names), and how far it must lead any other
# reading of the same voice or name.
MIN_VOTES = 2
MIN_VOTES_GIVEN = 1
LEAD = 2
# An answer counts when the next voice starts within this many seconds of the question's end.
MAX_REPLY_GAP_S = 5.0

_NAME = r"([A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
_INTRODUCES = re.compile(rf"\b(?:I'm|I am|my name is|My name is|myself,)\s+{_NAME}\b")
_THANKS = re.compile(rf"^(?:Thanks|Thank you|Thanks a lot|Cheers),?\s+{_NAME}\b")
# "Kenji, please ...", and after a word of acknowledgement: "Good, Evan, what would you change?"
_VOCATIVE_OPENING = re.compile(
    rf"^(?:(?:Good|Yes|Yeah|Okay|OK|Ok|Right|Great|So|And|Now|Well|Perfect|Fine|Sure|Alright),?\s+)*{_NAME},\s"
)
# A name inside a sentence, set off by commas, before the question or request it opens: "Okay, now the
# bug, Priya, can you walk us through it?", "Thanks, Matteo, Yusuf, once you have them. Can I ask you ...?"
_VOCATIVE_INSIDE = re.compile(rf",\s+{_NAME}(?=,\s)")
# "..., Femi?", and a name said alone to hand over: "Now hiring. Femi?"
_VOCATIVE_CLOSING = re.compile(rf"(?:,\s+|^){_NAME}[?.!]?$")
# A name closing these points back at who spoke, not forward at who speaks next.
_SIGN_OFF = re.compile(r"^(?:Thanks|Thank you|Cheers|Bye|Goodbye|Good job|Well done|Nice work|Great work)\b")
# Capitalized words that open or close sentences without being anyone's name.
_NOT_NAMES = frozenset(
    re.findall(
        r"\w+",
        """monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december right great good sure yes yeah okay ok well thanks
    perfect hi hello sorry anyway actually alright fine cool so and but now then also everyone everybody
    all guys team folks please first next last again there here what why how when who look listen""",
    )
)


class SpeakerNaming(msgspec.Struct, frozen=True):
    speaker: int
    name: str
    evidence: list[str]  # the lines that support it, as a reader would quote them


def infer_speaker_names(
    words: list[Word], candidates: Sequence[str] = (), known: dict[int, str] | None = None
) -> list[SpeakerNaming]:
    """Names for the voices the meeting names, never for those in `known` (speaker -> name already set).

    With `candidates` (the participants people gave), only their names are given; without them, any
    capitalized word used as a name.
    """
    known = known or {}
    allowed = {name_key(c.split()[0]): c.strip() for c in candidates if c.strip()}
    turns = segments_from_words(words)
    votes: Counter[tuple[int, str]] = Counter()
    evidence: dict[tuple[int, str], list[str]] = defaultdict(list)
    not_them: set[tuple[int, str]] = set()
    spelled: dict[str, str] = {}

    def nameable(raw: str) -> bool:
        key = name_key(raw)
        return key not in _NOT_NAMES and len(key) >= 2 and (not allowed or key in allowed)

    def vote(speaker: int, raw: str, weight: int, why: str) -> None:
        if not nameable(raw):
            return
        key = name_key(raw)
        spelled.setdefault(key, allowed.get(key, raw))
        votes[(speaker, key)] += weight
        evidence[(speaker, key)].append(why)

    for index, turn in enumerate(turns):
        sentences = split_sentences(turn.text)
        if not sentences:
            continue
        before = _previous_voice(turns, index)
        after = _next_voice(turns, index)
        for sentence in sentences:
            for match in _INTRODUCES.finditer(sentence):
                vote(turn.speaker, match.group(1), INTRODUCTION, _quote(turn, sentence))
            # Whoever is addressed is not the one speaking.
            for pattern in (_VOCATIVE_OPENING, _VOCATIVE_CLOSING):
                if match := pattern.search(sentence):
                    not_them.add((turn.speaker, name_key(match.group(1))))
        # "Kenji, please sign the lease." is answered by Kenji as surely as a question is, and so is a
        # request a line of reasons follows ("Jonas, could you write it? You know the tone."); a name
        # closing the turn hands over ("Now hiring, Femi") unless it signs off ("Thanks, Kenji.").
        # So is a name that opens the sentence before a request ("Gareth, you're on the refunds. Please send
        # finance the list.").
        addressed = None
        for number, sentence in enumerate(sentences[-2:], start=max(0, len(sentences) - 2)):
            asks = [_asks(s) for s in sentences[number:]]
            opening = _VOCATIVE_OPENING.search(sentence)
            if opening and not nameable(opening.group(1)):
                opening = None  # "Okay, now the bug, Priya, can you ...?"
            if opening and (sentence is sentences[-1] or any(asks)):
                addressed, said = opening, sentence
            inside = [m for m in _VOCATIVE_INSIDE.finditer(sentence) if not _thanked(sentence, m.group(1))]
            if inside and any(asks) and not opening:
                addressed, said = inside[-1], sentence
        last = sentences[-1]
        if (closing := _VOCATIVE_CLOSING.search(last)) and not _SIGN_OFF.match(last):
            addressed, said = closing, last
        if addressed and after is not None:
            vote(after.speaker, addressed.group(1), 1, f"{_quote(turn, said)} — answered by this voice")
        thanked = _THANKS.search(sentences[0])
        if thanked and before is not None:
            vote(before.speaker, thanked.group(1), 1, f"{_quote(turn, sentences[0])} — after this voice spoke")

    voices = {turn.speaker for turn in turns}
    return _assign(votes, evidence, not_them, spelled, known, voices, list(allowed.values()))


def _asks(sentence: str) -> bool:
    return sentence.endswith("?") or "please" in sentence.lower()


def _thanked(sentence: str, name: str) -> bool:
    return bool((thanks := _THANKS.search(sentence)) and thanks.group(1) == name)


def _assign(
    votes: Counter[tuple[int, str]],
    evidence: dict[tuple[int, str], list[str]],
    not_them: set[tuple[int, str]],
    spelled: dict[str, str],
    known: dict[int, str],
    voices: set[int],
    given: list[str],
) -> list[SpeakerNaming]:
    taken_names = {name_key(n.split()[0]) for n in known.values() if n}
    chosen: list[SpeakerNaming] = []
    used_speakers: set[int] = set(known)
    least = MIN_VOTES_GIVEN if given else MIN_VOTES
    for (speaker, key), count in votes.most_common():
        if count < least or (speaker, key) in not_them:
            continue
        if speaker in used_speakers or key in taken_names:
            continue
        rivals = [c for (s, k), c in votes.items() if (s == speaker) != (k == key) and (s == speaker or k == key)]
        if rivals and count < LEAD * max(rivals):
            continue
        used_speakers.add(speaker)
        taken_names.add(key)
        chosen.append(SpeakerNaming(speaker=speaker, name=spelled[key], evidence=evidence[(speaker, key)][:5]))
    left_voices = voices - used_speakers
    left_names = [name for name in given if name_key(name.split()[0]) not in taken_names]
    # As many voices as participants, all named but one: the last voice is the last participant, unless
    # the meeting addressed that name from this very voice.
    if len(voices) == len(given) and len(left_voices) == 1 and len(left_names) == 1:
        (speaker,), name = left_voices, left_names[0]
        named = sorted([*known.items(), *((n.speaker, n.name) for n in chosen)])
        others = ", ".join(f"{speaker_label(s)} is {n}" for s, n in named if n)
        if others and (speaker, name_key(name.split()[0])) not in not_them:
            why = f"{len(given)} participants and {len(voices)} voices; {others}: this voice is the one left"
            chosen.append(SpeakerNaming(speaker=speaker, name=name, evidence=[why]))
    return sorted(chosen, key=lambda n: n.speaker)


def _quote(turn: Segment, sentence: str) -> str:
    return f'[{int(turn.start // 60):02d}:{int(turn.start % 60):02d}] {speaker_label(turn.speaker)}: "{sentence}"'


def _previous_voice(turns: list[Segment], index: int) -> Segment | None:
    """The other voice this turn follows at once (None: the same voice went on, or a long silence)."""
    if index == 0 or turns[index - 1].speaker == turns[index].speaker:
        return None
    earlier = turns[index - 1]
    return earlier if turns[index].start - earlier.end <= MAX_REPLY_GAP_S else None


def _next_voice(turns: list[Segment], index: int) -> Segment | None:
    """The other voice that takes over right after this turn."""
    if index + 1 >= len(turns) or turns[index + 1].speaker == turns[index].speaker:
        return None
    later = turns[index + 1]
    return later if later.start - turns[index].end <= MAX_REPLY_GAP_S else None
