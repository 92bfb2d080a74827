"""Decisions kept only where a line of the transcript shows the group taking them."""

from reflector.pipelines.decisions import settled_decisions

MEETING = [
    ("Ana", "Morning. Two things: the team offsite and the support rota."),
    ("Ben", "The offsite venue in Porto costs eight thousand euros for three days."),
    ("Ana", "Should we move the offsite to October, when flights are cheaper?"),
    ("Carla", "Yes, let's do that."),
    ("Ben", "Could we also invite the contractors?"),
    ("Carla", "I would rather not, it doubles the cost."),
    ("Ana", "Fine. No contractors at the offsite this year."),
    ("Ben", "Last year we had agreed to rotate support every week."),
    ("Ana", "Right. We will switch the support rota to two weeks per person from now on."),
    ("Carla", "Snacks for the rota room?"),
    ("Ana", "Keep them. Two hundred euros a month for snacks."),
    ("Ana", "Ben, please book the flights for everyone by Friday."),
    ("Ben", "I will book them tomorrow morning."),
]


def test_what_the_group_settled_is_kept() -> None:
    decided = [
        "Move the offsite to October",  # a proposal someone else accepted
        "No contractors at the offsite this year",  # a refusal stated as the rule
        "Switch the support rota to two weeks per person",  # "we will ..."
        "Keep two hundred euros a month for snacks",  # "Keep them." settles the sentence after it
    ]
    assert settled_decisions(decided, MEETING) == decided


def test_facts_tasks_stories_and_inventions_are_not_decisions() -> None:
    not_decided = [
        "The venue in Porto costs eight thousand euros",  # a fact
        "Rotate support every week",  # an earlier decision told about
        "Ben books the flights for everyone by Friday",  # a task asked of somebody
        "I will book the flights tomorrow",  # somebody's own task
        "Hire a new office manager",  # said by nobody
        "Invite the contractors to the offsite",  # proposed, turned down
    ]
    assert settled_decisions(not_decided, MEETING) == []
