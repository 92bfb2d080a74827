"""The analysis scorer of bench/analysis.py on cases small enough to work out by hand."""

import pytest

from bench.analysis_score import (
    StmTurn,
    content_words,
    due_correct,
    groundedness,
    labels_from_starts,
    match,
    normalize_numbers,
    owner_correct,
    pk,
    raw_tokens,
    reference_words,
    score_meeting,
    similarity,
    totals,
    window_diff,
)

GOLD = {
    "held_out": False,
    "speakers": {"maria": "Maria", "tom": "Tom", "kenji": "Kenji"},
    "topics": [{"first_turn_index": 0, "title": "Launch"}, {"first_turn_index": 2, "title": "Office move"}],
    "decisions": ["The app launches on the twelfth of May"],
    "action_items": [
        {"task": "Write the design document for the checkout", "owner": "Tom", "due": "next Tuesday"},
        {"task": "Sign the lease for the new office", "owner": "Kenji", "due": "before the end of the month"},
    ],
}
# Four turns of four words: the gold topic changes at turn 2, i.e. before word 8.
STM = [
    StmTurn("maria", 0.0, 4.0, "we launch in May"),
    StmTurn("tom", 4.0, 8.0, "the twelfth of May"),
    StmTurn("maria", 8.0, 12.0, "Kenji sign the lease"),
    StmTurn("kenji", 12.0, 16.0, "by the month's end"),
]
TRANSCRIPT = (
    "Tom, please write the design document for the checkout by next Tuesday. The app launches on the "
    "twelfth of May. Kenji, please sign the lease before the end of the month."
)


def result(items: list[dict], decisions: list[str], topic_starts: tuple[float, ...] = (0.0, 8.0), **extra) -> dict:
    return {
        "title": extra.get("title", "App launch and the new lease"),
        "short_summary": extra.get("summary", "Tom writes the checkout design; Kenji signs the lease."),
        "long_summary": "",
        "words": [{"text": w, "start": 0.0, "end": 0.0, "speaker": 0} for w in TRANSCRIPT.split()],
        "topics": [{"title": "t", "summary": "", "start": s, "end": s + 1} for s in topic_starts],
        "decisions": decisions,
        "action_items": items,
    }


PERFECT_ITEMS = [
    {"task": "Write the design document for the checkout", "owner": "Tom", "due": "next Tuesday"},
    {"task": "Sign the lease for the new office", "owner": "Kenji", "due": "before the end of the month"},
]


def test_a_perfect_result_scores_one_everywhere() -> None:
    score = score_meeting("m", GOLD, STM, result(PERFECT_ITEMS, ["The app launches on the twelfth of May"]))
    assert score.item_precision == score.item_recall == 1.0
    assert score.owner_accuracy == score.due_accuracy == 1.0
    assert score.decision_f1 == 1.0
    assert score.pk == score.window_diff == 0.0
    assert score.topic_count_error == 0
    assert score.groundedness == 1.0
    assert score.invented_decisions is None and score.invented_items is None


def test_items_match_by_meaning_not_wording() -> None:
    reworded = [
        {"task": "Tom to write the checkout design document", "owner": "tom", "due": "Tuesday"},
        {"task": "Kenji signs the office lease", "owner": "Kenji Sato", "due": "end of the month"},
    ]
    score = score_meeting("m", GOLD, STM, result(reworded, ["Launch on May 12"]))
    assert score.matched_items == 2
    assert score.owner_accuracy == 1.0  # first name, any case
    assert score.due_accuracy == 1.0
    assert score.matched_decisions == 1  # "twelfth" and "12" are the same number


def test_a_missing_item_lowers_recall_only() -> None:
    score = score_meeting("m", GOLD, STM, result(PERFECT_ITEMS[:1], []))
    assert score.item_recall == 0.5
    assert score.item_precision == 1.0


def test_an_extra_item_lowers_precision_only() -> None:
    extra = [*PERFECT_ITEMS, {"task": "Order pizza for the launch party", "owner": "Maria", "due": None}]
    score = score_meeting("m", GOLD, STM, result(extra, []))
    assert score.item_precision == pytest.approx(2 / 3)
    assert score.item_recall == 1.0


def test_a_wrong_or_missing_owner_is_counted() -> None:
    items = [
        {**PERFECT_ITEMS[0], "owner": "Speaker 2"},
        {**PERFECT_ITEMS[1], "owner": None},
    ]
    score = score_meeting("m", GOLD, STM, result(items, []))
    assert score.matched_items == 2
    assert score.owners_correct == 0
    assert score.owner_accuracy == 0.0
    assert owner_correct(None, None) and owner_correct("none", None) and not owner_correct("Tom", None)


def test_dues() -> None:
    assert due_correct("Tuesday", "next Tuesday")
    assert not due_correct("next week", "this week")
    assert not due_correct(None, "Friday")
    assert due_correct(None, None) and not due_correct("Friday", None)
    assert due_correct("Friday", "Thursday", also=["Friday"])


def test_unrelated_texts_do_not_match() -> None:
    assert similarity("Send the list of people who should attend", "Send the quotes") < 0.4
    assert match(["Order pizza"], ["Sign the lease"]) == []


def test_a_negation_on_one_side_only_is_no_match() -> None:
    gold = "No contractor for the support queue for now"
    assert similarity("The support queue will be managed by Priya", gold) < 0.4
    assert similarity("We will not hire a contractor for the support queue", gold) >= 0.4


def test_matching_is_one_to_one() -> None:
    pairs = match(["Sign the lease", "Sign the lease today"], ["Sign the lease"])
    assert len(pairs) == 1


def test_number_words_become_digits() -> None:
    words = "sixty thousand dollars sixty six a hundred and twenty seats two point one twelfth $20,000 2.1%"
    expected = ["60000", "dollars", "66", "120", "seats", "2.1", "12", "20000", "2.1"]
    assert normalize_numbers(raw_tokens(words)) == expected
    assert content_words("updated the plans") == content_words("updating the plan")


def test_pk_and_windowdiff_by_hand() -> None:
    reference = [0, 0, 0, 0, 1, 1, 1, 1]
    shifted = [0, 0, 0, 1, 1, 1, 1, 1]
    assert pk(reference, reference, k=2) == 0.0
    assert window_diff(reference, reference, k=2) == 0.0
    # Windows (i, i+2) for i = 0..5: same segment in the reference T T F F T T, in the shifted one
    # T F F T T T: they disagree at i = 1 and i = 3, 2 of 6.
    assert pk(reference, shifted, k=2) == pytest.approx(2 / 6)
    assert window_diff(reference, shifted, k=2) == pytest.approx(2 / 6)
    # One segment for all: every window that crosses the true boundary is wrong.
    assert pk(reference, [0] * 8, k=2) == pytest.approx(2 / 6)


def test_topic_starts_are_mapped_to_script_words() -> None:
    times, labels = reference_words(STM, [0, 2])
    assert labels == [0] * 8 + [1] * 8
    assert labels_from_starts(times, [0.0, 8.0]) == labels
    late = score_meeting("m", GOLD, STM, result(PERFECT_ITEMS, [], topic_starts=(0.0, 10.0)))
    assert late.pk is not None and late.pk > 0
    single = score_meeting("m", GOLD, STM, result(PERFECT_ITEMS, [], topic_starts=(0.0,)))
    assert single.topic_count_error == -1 and single.pk > 0


def test_groundedness_counts_names_numbers_and_dates_not_in_the_transcript() -> None:
    found = groundedness(
        ["Tom and Kenji agreed to launch on May 12.", "Budget of 40,000 dollars approved by Priya on Friday."],
        TRANSCRIPT,
        people=["Tom", "Kenji"],
    )
    bad = {m.text for m in found if not m.grounded}
    assert bad == {"40000", "priya", "friday"}
    assert {"tom", "kenji", "may", "12"} <= {m.text for m in found if m.grounded}


def test_title_case_words_are_not_names_but_people_still_are() -> None:
    found = groundedness(["Marketing Budget Analysis With Tom", "Budget review with Priya"], TRANSCRIPT, ["Tom"])
    assert {(m.text, m.grounded) for m in found} == {("tom", True), ("priya", False)}


def test_speaker_labels_are_not_numbers_or_names() -> None:
    assert groundedness(["Speaker 7 will sign the lease"], TRANSCRIPT) == []


def test_invented_counts_on_meetings_with_none() -> None:
    gold = {**GOLD, "decisions": [], "action_items": []}
    score = score_meeting("m", gold, STM, result([PERFECT_ITEMS[0]], ["We agreed to twelve meetings a week"]))
    assert score.invented_decisions == 1 and score.invented_items == 1
    clean = score_meeting("m", gold, STM, result([], []))
    assert clean.invented_decisions == clean.invented_items == 0
    assert clean.item_precision == clean.item_recall == 1.0


def test_totals_pool_items_over_meetings() -> None:
    a = score_meeting("a", GOLD, STM, result(PERFECT_ITEMS, []))
    b = score_meeting("b", GOLD, STM, result([], []))
    t = totals([a, b])
    assert t["item_recall"] == 0.5 and t["item_precision"] == 1.0
    assert t["topic_count_within_1"] == 2


def test_names_the_pipeline_was_given_are_grounded() -> None:
    assert not groundedness(["Victor will send the quotes"], TRANSCRIPT, people=["Victor"])[0].grounded
    assert groundedness(["Victor will send the quotes"], TRANSCRIPT, people=["Victor"], given=["Victor"])[0].grounded
