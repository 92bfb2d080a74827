"""Voices named only where the meeting names them, with the lines that show it."""

from reflector.pipelines.speaker_naming import infer_speaker_names
from reflector.pipelines.types import Word


def _meeting(*turns: tuple[int, str]) -> list[Word]:
    words, clock = [], 0.0
    for speaker, text in turns:
        for token in text.split():
            words.append(Word(text=token, start=clock, end=clock + 0.3, speaker=speaker))
            clock += 0.4
        clock += 0.5
    return words


PLANNING = _meeting(
    (0, "Good morning. Kenji, how many tickets are open?"),
    (1, "Forty two, most of them about password resets."),
    (2, "Could we add a reset link to the help page?"),
    (1, "Yes, I can add that this week."),
    (0, "Good. Kenji, please sign the lease before the end of the month."),
    (1, "I will sign it on Friday."),
    (2, "Thanks Kenji. I'm Priya, by the way, from the support team."),
)


def test_a_voice_that_answers_to_a_name_and_is_thanked_by_it_gets_it_with_the_lines_that_show_it() -> None:
    named = {n.speaker: n for n in infer_speaker_names(PLANNING)}
    assert named[1].name == "Kenji"
    assert len(named[1].evidence) == 3
    assert any('"Kenji, how many tickets are open?"' in line for line in named[1].evidence)
    # An introduction alone is enough.
    assert named[2].name == "Priya" and "I'm Priya" in named[2].evidence[0]
    # The one asking is never named after the person asked.
    assert 0 not in named


def test_one_mention_is_not_enough_and_contradictions_name_nobody() -> None:
    once = _meeting((0, "Tom, where are we with the design?"), (1, "The screens are done."))
    assert infer_speaker_names(once) == []
    # Two voices both answer to "Sam": neither is named.
    split = _meeting(
        (0, "Sam, are you there?"), (1, "Yes."), (0, "Sam, can you hear me?"), (2, "I can."),
        (0, "Sam, one more time?"), (1, "Here."), (0, "Sam, last call?"), (2, "Still here."),
    )  # fmt: skip
    assert infer_speaker_names(split) == []


def test_given_participants_only_their_names_are_used_and_named_voices_stay_as_they_are() -> None:
    candy = _meeting((0, "Candy, how many?"), (1, "Forty."), (0, "Candy, please sign it."), (1, "I will."))
    assert [n.name for n in infer_speaker_names(candy)] == ["Candy"]
    assert infer_speaker_names(candy, candidates=["Kenji Sato", "Maria"]) == []
    kenji = infer_speaker_names(PLANNING, candidates=["Kenji Sato", "Maria"])
    assert [(n.speaker, n.name) for n in kenji] == [(1, "Kenji Sato")]
    assert infer_speaker_names(PLANNING, known={1: "Ken"}) == [
        n for n in infer_speaker_names(PLANNING) if n.speaker == 2
    ]
    assert infer_speaker_names(PLANNING, known={3: "Kenji"})[0].name == "Priya"


def test_a_name_after_a_word_of_acknowledgement_is_still_the_one_addressed() -> None:
    budget = _meeting(
        (0, "Good, Evan, what would you change?"),
        (1, "I would cut the display banners."),
        (2, "I have a different view."),
        (0, "Yes, Evan, can you send the updated plan to finance by Friday?"),
        (1, "I will send it on Thursday."),
    )
    named = infer_speaker_names(budget, candidates=["Dana", "Evan", "Farah"])
    assert [(n.speaker, n.name) for n in named] == [(1, "Evan")]
    assert '"Good, Evan, what would you change?"' in named[0].evidence[0]


REVIEW = _meeting(
    (0, "Welcome. Today we review the new sign-up flow."),
    (1, "I will share the prototype."),
    (0, "Jonas, could you write the checklist copy? You wrote the help articles, so you know the tone."),
    (2, "Sure, I can take the checklist copy."),
    (0, "So no theme choice in onboarding. Mei, please run five usability sessions next week."),
    (1, "I will recruit people from the waiting list."),
)


def test_with_the_participants_one_answer_is_enough_and_the_last_voice_is_the_one_left() -> None:
    # Without the list, one answer each names nobody.
    assert infer_speaker_names(REVIEW) == []
    named = {n.speaker: n for n in infer_speaker_names(REVIEW, candidates=["Ines", "Jonas", "Mei"])}
    assert {s: n.name for s, n in named.items()} == {0: "Ines", 1: "Mei", 2: "Jonas"}
    # A request followed by its reasons is still answered by the one asked.
    assert '"Jonas, could you write the checklist copy?"' in named[2].evidence[0]
    assert "3 participants and 3 voices" in named[0].evidence[0] and "Speaker 3 is Jonas" in named[0].evidence[0]
    # One participant more than voices: nobody is named by elimination.
    four = infer_speaker_names(REVIEW, candidates=["Ines", "Jonas", "Mei", "Carl"])
    assert [(n.speaker, n.name) for n in four] == [(1, "Mei"), (2, "Jonas")]


def test_a_name_closing_a_turn_hands_over_unless_it_signs_off() -> None:
    handover = _meeting(
        (0, "The pricing page needs an owner. Now hiring, Femi"),
        (1, "We have three open roles."),
        (0, "Thanks, Femi."),
        (2, "One more thing about the offsite."),
    )
    named = infer_speaker_names(handover, candidates=["Beatriz", "Femi", "Gwen", "Chen"])
    # Voice 1 answered the hand-over and was thanked; voice 2 spoke after a thank-you, which points back.
    assert [(n.speaker, n.name) for n in named] == [(1, "Femi")]
    assert len(named[0].evidence) == 2


def test_a_name_said_alone_hands_over() -> None:
    said = _meeting((0, "Let's come back to that. Now hiring. Femi?"), (1, "We have three open roles."))
    assert [(n.speaker, n.name) for n in infer_speaker_names(said, candidates=["Beatriz", "Femi", "Chen"])] == [
        (1, "Femi")
    ]


def test_a_name_inside_a_request_or_before_one_is_the_one_asked() -> None:
    sprint = _meeting(
        (0, "Okay, now the bug, Priya, can you walk us through what happened?"),
        (1, "Discount codes were applied twice."),
        (0, "We refund the difference. Gareth, you're on the refunds. Please send finance the list."),
        (2, "I'll send them the list this afternoon."),
        (3, "I know their account manager, I'll chase the keys today."),
        (0, "Thanks, Matteo, Yusuf, once you have them. Can I ask you to build the integration?"),
        (4, "Yes, that works for me."),
    )
    named = infer_speaker_names(sprint, candidates=["Ingrid", "Priya", "Gareth", "Matteo", "Yusuf"])
    # Voice 3 is thanked by name, voice 4 is the one asked after it; with four of five named, voice 0 is
    # the one left.
    assert {n.speaker: n.name for n in named} == {0: "Ingrid", 1: "Priya", 2: "Gareth", 3: "Matteo", 4: "Yusuf"}
    assert '"Okay, now the bug, Priya, can you walk us through what happened?"' in named[1].evidence[0]


def test_names_listed_together_are_not_read_as_the_one_asked() -> None:
    both = _meeting((0, "Tom, Kenji, when can your side look at the export?"), (1, "Priya will fix it."))
    # "Tom, Kenji, ...": a question to both; the name that opens it is the one answering at most.
    assert [(n.speaker, n.name) for n in infer_speaker_names(both, candidates=["Ana", "Tom", "Kenji"])] == [(1, "Tom")]
