"""A decision is kept only when the line it quotes shows the meeting settling something: not a fact, a
proposal, a question or an earlier decision told about; and a meeting without any gets none."""

import json

from reflector.pipelines.decisions import DecisionReply, settles_something, supported_decisions
from reflector.pipelines.grounding import Grounding
from reflector.pipelines.summarize import summarize
from reflector.pipelines.types import Segment

LINES = [
    ("Ines", "Two of the forklifts failed their safety inspection on Monday."),
    ("Bart", "I would rent a forklift until the brakes are fixed."),
    ("Ines", "Fine. So we are agreed: we rent one forklift for a month."),
    ("Cleo", "Should we also buy a third forklift?"),
    ("Ines", "No new forklift this year. The budget is spent."),
    ("Bart", "Last year we had agreed to twelve inspections a week, which was far too many."),
]


def _transcript() -> str:
    return "\n".join(f"{who}: {text}" for who, text in LINES)


def test_agreement_and_a_refusal_stated_as_a_rule_settle_something() -> None:
    assert settles_something("So we are agreed: we rent one forklift for a month.") is None
    assert settles_something("No new forklift this year.") is None
    assert settles_something("Let's hold the stand-up at ten from now on.") is None
    assert settles_something("Keep them. Five thousand for meetups this quarter.") is None


def test_facts_proposals_questions_and_stories_do_not() -> None:
    assert settles_something("Two of the forklifts failed their safety inspection on Monday.") is not None
    assert settles_something("I would rent a forklift until the brakes are fixed.") is not None
    assert settles_something("Should we also buy a third forklift?") is not None
    assert settles_something("Last year we had agreed to twelve inspections a week.") is not None
    assert settles_something("Agreed.") is not None
    assert settles_something("No, that was the funny part.") is not None  # an answer, not a rule
    assert settles_something("Let's move to the follow-ups.") is not None  # running the meeting
    assert settles_something("I will cancel that subscription myself.") is not None  # an action item


def test_only_decisions_whose_quote_shows_them_taken_are_kept() -> None:
    replies = [
        DecisionReply("So we are agreed: we rent one forklift for a month.", "Rent one forklift for a month"),
        DecisionReply("No new forklift this year.", "No new forklift this year"),
        DecisionReply("Two of the forklifts failed their safety inspection on Monday.", "Forklifts failed inspection"),
        DecisionReply("I would rent a forklift until the brakes are fixed.", "Rent a forklift"),
        DecisionReply("We had agreed to twelve inspections a week.", "Twelve inspections a week"),
        DecisionReply("We agreed to sell the warehouse.", "Sell the warehouse"),  # nobody said it
        DecisionReply("No new forklift this year.", "No new forklift this year"),  # twice
        DecisionReply("So we are agreed: we rent one forklift for a month.", "Rent from Acme for 90 days"),
    ]
    lines = [(who, text) for who, text in LINES]
    kept = supported_decisions(replies, lines, Grounding(_transcript(), ["Ines", "Bart", "Cleo"]))
    assert kept == ["Rent one forklift for a month", "No new forklift this year"]


class _AnsweringLLM:
    """Replies to the outcomes call with what a small model tends to say about a chat with no decision."""

    context_window = 4096

    def complete(self, messages, *, json_schema=None, max_tokens=512, temperature=0.3) -> str:
        if "action_items" in (json_schema or {}).get("properties", {}):
            return json.dumps(
                {
                    "decisions": [{"quote": LINES[5][1], "decision": "Twelve inspections a week"}],
                    "action_items": [
                        {"quote": LINES[0][1], "owner": "Ines", "task": "Fail the inspection", "due": "Monday"}
                    ],
                }
            )
        return json.dumps({"title": "Forklift inspection", "summary": "Two forklifts failed their inspection."})

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1


def test_a_meeting_without_decisions_or_tasks_reports_none() -> None:
    segments = [Segment(speaker=i % 3, start=i, end=i + 1, text=text) for i, (_, text) in enumerate(LINES)]
    summary = summarize(_AnsweringLLM(), segments, [], {0: "Ines", 1: "Bart", 2: "Cleo"})
    assert summary.decisions == [] and summary.action_items == []
    assert summary.title == "Forklift inspection"


def test_the_outcomes_grammar_allows_empty_lists() -> None:
    from reflector.pipelines.llm import json_schema_for
    from reflector.pipelines.summarize import OutcomesReply

    schema = json_schema_for(OutcomesReply)
    for field in ("decisions", "action_items"):
        assert schema["properties"][field].get("minItems", 0) == 0
    assert schema["properties"]["decisions"]["items"]["required"] == ["quote", "decision"]
