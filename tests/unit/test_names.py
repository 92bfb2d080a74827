"""Participants' names adopted from the hinted decoding only where it heard a name."""

from reflector.pipelines.names import adopt_names, hint_text, name_key
from reflector.pipelines.types import Word


def _words(text: str, start: float = 0.0) -> list[Word]:
    return [Word(text=t, start=start + i, end=start + i + 0.5) for i, t in enumerate(text.split())]


def _text(words: list[Word]) -> str:
    return " ".join(w.text for w in words)


def test_a_name_heard_as_other_words_is_taken_from_the_hinted_decoding() -> None:
    first = _words("Good. can you? Please sign the lease before Friday.")
    hinted = _words("Good. Kenji, please sign the lease before Friday.")
    merged = adopt_names(first, hinted, ["Maria", "Kenji"])
    assert _text(merged) == "Good. Kenji, Please sign the lease before Friday."
    assert merged[1] is hinted[1]  # the name keeps the time the hinted decoding gave it


def test_a_long_name_heard_as_several_short_words_is_taken_whole() -> None:
    first = _words("Hello all the way sun. Thank you for joining. How did you handle that all the way sun?")
    hinted = _words("Hello, Oluwaseun. Thank you for joining. How did you handle that, Oluwaseun?")
    merged = adopt_names(first, hinted, ["Siobhan", "Oluwaseun"])
    assert _text(merged) == "Hello Oluwaseun. Thank you for joining. How did you handle that Oluwaseun?"


def test_where_the_decodings_differ_around_a_name_only_the_words_heard_at_its_time_change() -> None:
    first = _words("Could you tell me? Thanks, Chivon. I will today the pipeline")
    hinted = _words("Could you tell me? Thanks Siobhan. I'll be able to be the pipeline")
    merged = adopt_names(first, hinted, ["Siobhan"])
    assert _text(merged) == "Could you tell me? Thanks, Siobhan. I will today the pipeline"


def test_a_name_does_not_replace_a_much_longer_stretch() -> None:
    first = _words("Hello to all the wonderful new colleagues today")
    hinted = [*_words("Hello"), Word(text="Tom", start=3.0, end=3.5), *_words("today", start=8.0)]
    assert adopt_names(first, hinted, ["Tom"]) == first


def test_words_the_hinted_decoding_changed_elsewhere_stay_as_first_heard() -> None:
    first = _words("I built a data pipeline in Lagos thanks chivon")
    hinted = _words("I will today the pipeline in Vegas thanks Siobhan")
    merged = adopt_names(first, hinted, ["Siobhan", "Oluwaseun"])
    assert _text(merged) == "I built a data pipeline in Lagos thanks Siobhan"


def test_a_long_disagreement_is_not_a_name() -> None:
    first = _words("we moved the whole release to the spring")
    hinted = _words("Tom said that nothing was moving until spring")
    assert adopt_names(first, hinted, ["Tom"]) == first


def test_a_name_already_heard_is_left_alone_and_no_names_change_nothing() -> None:
    first = _words("Thanks Priya's fix landed")
    hinted = _words("Thanks Priya fix landed today")
    assert adopt_names(first, hinted, ["Priya"]) == first
    assert adopt_names(first, _words("something else entirely"), []) == first


def test_names_compare_without_case_punctuation_or_possessive() -> None:
    assert {name_key(w) for w in ["Priya's", "priya,", "PRIYA.", "Priya’s"]} == {"priya"}
    assert hint_text([" Maria", "Tom", "Maria", ""]) == "Maria, Tom"
