"""Repeated runs in a decoded caption are kept once; real repetitions of short words stay."""

from reflector.pipelines.captions import without_repeats
from reflector.pipelines.types import Word


def _words(text: str) -> list[Word]:
    return [Word(text=t, start=i * 0.4, end=i * 0.4 + 0.3) for i, t in enumerate(text.split())]


def _text(words: list[Word]) -> str:
    return " ".join(w.text for w in words)


def test_a_sentence_decoded_twice_or_three_times_is_kept_once() -> None:
    assert _text(without_repeats(_words("And so my fellow Americans. And so my fellow Americans."))) == (
        "And so my fellow Americans."
    )
    looped = "What your country can do for you. What your country can do for you. What your country can do for you"
    assert _text(without_repeats(_words(looped))) == "What your country can do for you."
    assert _text(without_repeats(_words("we ship it we ship it tomorrow"))) == "we ship it tomorrow"
    # Cut short by the token limit in the middle of one more copy.
    cut = "What your country can do for you. What your country can"
    assert _text(without_repeats(_words(cut))) == "What your country can do for you."


def test_what_people_do_repeat_is_left_alone() -> None:
    for said in ("yes yes yes", "I think I think so", "no, no, it is fine", "one two three four"):
        assert _text(without_repeats(_words(said))) == said
