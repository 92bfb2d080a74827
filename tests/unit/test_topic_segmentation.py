"""Topic boundaries come from the transcript's own words: where its vocabulary changes and where a
speaker announces a new subject, not one topic per meeting."""

from reflector.pipelines.topic_segmentation import gaps, sentence_starts, split_topics, topic_starts
from reflector.pipelines.types import Word

# A warehouse meeting: forklifts, then the night shift's rota, then the loading dock's roof.
WAREHOUSE = [
    ("ines", "First the forklifts. Two of the forklifts failed their safety inspection on Monday."),
    ("bart", "The forklift batteries are old. The inspector said the brakes on both forklifts are worn too."),
    ("ines", "Can the forklift supplier replace the brakes and the batteries this month?"),
    ("bart", "The supplier quoted four weeks for forklift batteries, brakes are faster."),
    ("cleo", "Then we rent one forklift while the inspection failures are fixed."),
    ("ines", "Fine, rent a forklift. Next, the night shift rota."),
    ("cleo", "The night shift is short of two pickers since the holidays started."),
    ("bart", "Pickers on the night shift keep swapping shifts without telling the rota planner."),
    ("cleo", "The rota planner should lock swaps after Thursday so the night shift stays covered."),
    ("ines", "Agreed, swaps lock on Thursday and the rota planner hires two temporary pickers."),
    ("cleo", "Temporary pickers on the night rota cover the holidays until the new pickers start."),
    ("bart", "Last item, the loading dock roof. Rain leaks onto the dock doors when it storms."),
    ("cleo", "The roofer climbed up to the dock roof, and the gutters above the doors are cracked."),
    ("ines", "Water on the dock floor is a slipping hazard, so the roofer fixes the gutters first."),
    ("bart", "The roofer can replace the gutters and patch the roof over the dock doors next week."),
]

# The fixture is half as long as a short meeting: the limits on topic length and count scaled to it.
SHORT = {"min_words": 30, "words_per_topic": 50, "growth": 20}


def _words(turns: list[tuple[str, str]]) -> list[Word]:
    speakers: dict[str, int] = {}
    words: list[Word] = []
    clock = 0.0
    for who, text in turns:
        speaker = speakers.setdefault(who, len(speakers))
        for token in text.split():
            words.append(Word(token, clock, clock + 0.3, speaker))
            clock += 0.4
        clock += 0.5
    return words


def _turn_of(words: list[Word], index: int, turns: list[tuple[str, str]]) -> int:
    """Which turn of the script the word at `index` belongs to."""
    counted = 0
    for number, (_, text) in enumerate(turns):
        counted += len(text.split())
        if index < counted:
            return number
    raise IndexError(index)


def test_a_meeting_with_three_subjects_is_cut_where_each_subject_begins() -> None:
    words = _words(WAREHOUSE)
    starts = topic_starts(words, **SHORT)
    assert len(starts) == 3
    # The rota starts mid-turn ("Next, the night shift rota."), the roof with a turn ("Last item, ...").
    second = " ".join(w.text for w in words[starts[1] : starts[1] + 4])
    assert second.startswith("Next,") or _turn_of(words, starts[1], WAREHOUSE) == 6
    assert _turn_of(words, starts[2], WAREHOUSE) == 11


def test_without_any_cue_the_deepest_valleys_are_where_the_vocabulary_changes() -> None:
    turns = [(who, text.replace("Next, ", "").replace("Last item, ", "")) for who, text in WAREHOUSE]
    words = _words(turns)
    found = gaps(words)
    assert not any(g.cue for g in found)
    deepest = sorted(found, key=lambda g: g.depth, reverse=True)[:2]
    assert sorted(_turn_of(words, g.index, turns) for g in deepest) in ([5, 11], [6, 11])


def test_a_cue_opens_a_subject_only_at_the_start_of_a_sentence_near_a_turn_start() -> None:
    words = _words([("a", "We looked at the numbers and now the numbers look better than last week.")])
    assert not any(g.cue for g in gaps(words))
    words = _words([("a", "Good numbers this week. Right now the plan works."), ("b", "Right. Now, hiring.")])
    assert [g.cue for g in gaps(words)] == [False, True, True]


def test_one_subject_stays_one_topic() -> None:
    turns = [(who, text) for who, text in WAREHOUSE[:5]] * 2
    words = _words(turns)
    assert topic_starts(words, **SHORT) == [0]


def test_a_short_transcript_is_one_topic_and_the_parts_keep_every_word() -> None:
    words = _words(WAREHOUSE[:2])
    assert topic_starts(words) == [0]
    words = _words(WAREHOUSE)
    parts = split_topics(words, **SHORT)
    assert [w for part in parts for w in part] == words
    assert topic_starts([]) == []


def test_sentences_start_after_a_full_stop_and_at_each_change_of_speaker() -> None:
    words = _words([("a", "One thing. Two things"), ("b", "three")])
    assert sentence_starts(words) == [0, 2, 4]
