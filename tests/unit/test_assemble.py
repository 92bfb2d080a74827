"""Putting diarizer speakers onto ASR words, and words into segments."""

from reflector.pipelines.assemble import assign_speakers, segments_from_words
from reflector.pipelines.types import Segment, SpeakerTurn, Word


def timed(text: str, start: float = 0.0, step: float = 0.4, gap: float = 0.0) -> list[Word]:
    """Words of `text` one after another, each `step` long with `gap` silence between."""
    words = []
    t = start
    for token in text.split():
        words.append(Word(token, round(t, 3), round(t + step, 3)))
        t += step + gap
    return words


def speakers(words: list[Word]) -> list[int]:
    return [w.speaker for w in words]


def test_without_turns_everyone_is_speaker_zero() -> None:
    words = [Word("Hello", 0.0, 0.4, speaker=3), Word("there.", 0.4, 0.8, speaker=1)]

    assert speakers(assign_speakers(words, [])) == [0, 0]


def test_words_take_the_speaker_of_the_turn_they_sit_in() -> None:
    words = timed("Good morning everyone.") + timed("Morning Alice, thanks.", start=3.0)
    turns = [SpeakerTurn(0.0, 2.0, 0), SpeakerTurn(2.8, 5.0, 1)]

    assert speakers(assign_speakers(words, turns)) == [0, 0, 0, 1, 1, 1]


def test_turn_edge_jitter_does_not_flip_the_first_or_last_words() -> None:
    # The diarizer hands over 0.5 s early: nearest-turn per word would give "report" and "today."
    # to speaker 1, though the whole sentence is speaker 0's.
    words = timed("I will finish the report today.") + timed("Great, thanks.", start=3.0)
    turns = [SpeakerTurn(0.0, 1.9, 0), SpeakerTurn(1.9, 4.0, 1)]

    assert speakers(assign_speakers(words, turns)) == [0, 0, 0, 0, 0, 0, 1, 1]


def test_sentence_is_split_where_the_turn_changes_for_good() -> None:
    # No punctuation between the speakers (a common ASR miss), but the turn change is sustained.
    words = timed("so that is my update and what about you Bob I finished the migration yesterday evening")
    change = words[9].start  # "Bob" is the last word of speaker 0
    turns = [SpeakerTurn(0.0, change + 0.4, 0), SpeakerTurn(change + 0.4, 10.0, 1)]

    result = assign_speakers(words, turns)

    assert speakers(result) == [0] * 10 + [1] * 6


def test_words_outside_every_turn_take_the_nearest_speaker() -> None:
    words = timed("Hello.", start=0.0) + timed("Yes indeed.", start=10.0) + timed("Bye.", start=20.0)
    turns = [SpeakerTurn(1.0, 2.0, 0), SpeakerTurn(9.0, 9.5, 1), SpeakerTurn(25.0, 26.0, 2)]

    assert speakers(assign_speakers(words, turns)) == [0, 1, 1, 2]


def test_majority_overlap_wins_inside_a_sentence() -> None:
    words = timed("one two three four five.")  # 0.0 .. 2.0
    turns = [SpeakerTurn(0.0, 0.7, 1), SpeakerTurn(0.7, 2.0, 0)]

    assert speakers(assign_speakers(words, turns)) == [0] * 5


def test_assign_speakers_keeps_text_and_times() -> None:
    words = timed("Keep these words.")

    result = assign_speakers(words, [SpeakerTurn(0.0, 5.0, 2)])

    assert [(w.text, w.start, w.end) for w in result] == [(w.text, w.start, w.end) for w in words]
    assert speakers(result) == [2, 2, 2]


def test_segments_start_on_speaker_change() -> None:
    words = [
        Word("Hi", 0.0, 0.3, 0),
        Word("Bob.", 0.3, 0.6, 0),
        Word("Hi", 1.0, 1.3, 1),
        Word("Alice.", 1.3, 1.7, 1),
        Word("Ready?", 2.0, 2.4, 0),
    ]

    assert segments_from_words(words) == [
        Segment(0, 0.0, 0.6, "Hi Bob."),
        Segment(1, 1.0, 1.7, "Hi Alice."),
        Segment(0, 2.0, 2.4, "Ready?"),
    ]


def test_long_monologue_is_cut_after_punctuation_past_120_chars() -> None:
    sentence = "This sentence has exactly a moderate number of words in it for testing."
    words = timed(" ".join([sentence] * 4))

    segments = segments_from_words(words)

    assert len(segments) == 2
    assert all(s.text.endswith(".") for s in segments)
    assert all(len(s.text) > 120 for s in segments)
    assert " ".join(s.text for s in segments) == " ".join([sentence] * 4)
    assert segments[1].start == segments[0].end


def test_no_punctuation_means_no_cut() -> None:
    words = timed("word " * 60)

    assert len(segments_from_words(words)) == 1


def test_no_words_no_segments() -> None:
    assert segments_from_words([]) == []
    assert assign_speakers([], [SpeakerTurn(0.0, 1.0, 0)]) == []
