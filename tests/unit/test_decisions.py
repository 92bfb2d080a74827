"""The sentence rules decisions are read with: what settles something, and what a proposal proposes."""

import pytest

from reflector.pipelines.decisions import proposes, settles


@pytest.mark.parametrize(
    "sentence",
    [
        "No contractors at the offsite this year.",  # a refusal stated as the rule
        "We will switch the support rota to two weeks per person from now on.",
        "Keep them.",
        "So we are agreed: the app launches on the twelfth of May.",
        "Let's go with the cheaper venue.",
    ],
)
def test_what_settles_something(sentence: str) -> None:
    assert settles(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "The venue in Porto costs eight thousand euros.",  # a fact
        "Last year we had agreed to rotate support every week.",  # an earlier decision told about
        "Ben, please book the flights for everyone by Friday.",  # a task asked of somebody
        "I will book the flights tomorrow.",  # somebody's own task
        "Should we move the offsite to October?",  # a proposal
        "I think we should drop the banners.",  # a tentative one
        "Let's move on to the rota.",  # running the meeting
        "No, that was the funny part.",  # an answer
        "No questions.",
        "We will decide that once we know the price of the farmhouse.",  # put off
        "Let's settle it next week when Tom is back.",
        "Let's not sort out the lamb today.",  # put off
        "Bring it back at the October meeting.",
        "You remember we agreed in July to move our account to the cooperative bank.",
        "Good, let's go then, doors in twenty minutes.",  # running the meeting
    ],
)
def test_what_settles_nothing(sentence: str) -> None:
    assert not settles(sentence)


def test_a_proposal_is_read_without_its_question() -> None:
    assert proposes("Should we move the offsite to October, when flights are cheaper?") == (
        "Move the offsite to October, when flights are cheaper"
    )
    assert proposes("It is bigger. Could we also invite the contractors?") == "Invite the contractors"
    assert proposes("We could make it optional.") == "Make it optional"
    assert proposes("The booth cost twenty thousand.") is None
    assert proposes("My proposal is that we pick at most three goals this quarter.") == (
        "Pick at most three goals this quarter"
    )
    assert proposes("I would suggest we keep the price at fifteen.") == "Keep the price at fifteen"
    assert proposes("I move that we release two thousand pounds from reserves.") == (
        "Release two thousand pounds from reserves"
    )
