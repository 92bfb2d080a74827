"""Generated text is checked against the transcript: invented names and numbers never survive."""

import json

import msgspec
import pytest

from reflector.pipelines.grounding import Grounding, clean_title, split_sentences, whole_sentences
from reflector.pipelines.llm import LLMError, complete_json, json_schema_for, strip_code_fences
from reflector.pipelines.protocols import ChatMessage
from reflector.pipelines.summarize import RecapReply, summarize
from reflector.pipelines.topics import chunk_words, detect_topics
from reflector.pipelines.types import Segment, Word

BUDGET = (
    "Thanks for joining. The goal is to agree on the marketing budget for the next quarter. "
    "We spent sixty thousand dollars on online ads and got about nine hundred new customers. "
    "That is roughly sixty six dollars per customer. The booth cost us twenty thousand. "
    "So online ads get seventy five thousand and meetups get five thousand. "
    "Yes. Can you send the updated plan to finance by Friday? Right, I will send it on Thursday."
)
NAMES = ["Dana", "Evan"]


@pytest.fixture
def budget() -> Grounding:
    return Grounding(BUDGET, NAMES)


@pytest.mark.parametrize(
    "text",
    [
        "They spent $60,000 on ads.",
        "Ads brought 900 new customers at $66 each.",
        "Ads get $75k and meetups $5,000.",
        "Ads get seventy-five thousand.",
        "The booth cost 20 thousand dollars.",
    ],
)
def test_numbers_said_in_words_ground_digits(budget: Grounding, text: str) -> None:
    assert budget.unknown_numbers(text) == set()


@pytest.mark.parametrize(
    ("text", "invented"),
    [
        ("They spent $70,000 on ads.", {70000}),
        ("Each customer cost $66.67.", {66.67}),
        ("Spend rises 15% in 2025.", {15, 2025}),
        ("Ads get eighty thousand.", {80000}),
    ],
)
def test_numbers_nobody_said_are_found(budget: Grounding, text: str, invented: set[float]) -> None:
    assert budget.unknown_numbers(text) == invented


def test_spoken_number_runs_are_split_like_speech() -> None:
    grounding = Grounding("The call is at two thirty and the review at ten fifteen.")
    assert {2, 30, 10, 15} <= grounding.numbers
    assert 32 not in grounding.numbers


def test_unknown_capitalized_words_are_names_until_proven_otherwise(budget: Grounding) -> None:
    assert budget.unknown_words("Overall, Dana and Evan agreed on the Marketing Budget.") == []
    assert budget.unknown_words("John from Acme will send the plan in Q2.") == ["John", "Acme", "Q2"]
    assert budget.unknown_words("Sarah approved it. Mike's plan won. Prepare the plan.") == ["Sarah", "Mike's"]


def test_sentences_with_invented_facts_are_dropped(budget: Grounding) -> None:
    text = "Dana and Evan agreed to drop the booth. Sarah will join in March. They moved $20,000 to ads."
    assert budget.keep_grounded_sentences(text) == "Dana and Evan agreed to drop the booth. They moved $20,000 to ads."


def test_split_sentences_keeps_decimals_together() -> None:
    assert split_sentences("It cost $66.5 per lead. That is high! Why?") == [
        "It cost $66.5 per lead.",
        "That is high!",
        "Why?",
    ]


def test_owners_must_be_speakers_or_people_named_in_the_transcript() -> None:
    grounding = Grounding("Bob, can you take the interview? Thanks Carol. Right, see you.", ["Alice", "Bob"])
    assert grounding.person("bob") == "Bob"
    assert grounding.person("Carol") == "Carol"  # named mid-sentence, not a speaker
    assert grounding.person("Bob Smith") == "Bob"
    assert grounding.person("Alice and Bob") == "Alice and Bob"
    assert grounding.person("Dave") is None
    assert grounding.person("the team") is None
    assert grounding.person("Right") is None  # a sentence opener, not a person
    assert grounding.person(None) is None


def test_due_dates_must_be_said(budget: Grounding) -> None:
    assert budget.due("Friday") == "Friday"
    assert budget.due("by Thursday") == "by Thursday"
    assert budget.due("next quarter") == "next quarter"
    assert budget.due("June 5") is None
    assert budget.due("end of month") is None
    assert budget.due("") is None


def test_titles_lose_quotes_unknown_names_and_extra_words(budget: Grounding) -> None:
    assert clean_title('"Q2 Marketing Budget Review"', budget) == "Marketing Budget Review"
    assert clean_title("Title: Budget.", budget) == "Budget"
    long = "Marketing budget for the next quarter and the online ads and the meetups plan"
    assert len(clean_title(long, budget).split()) == 10


class Listed(msgspec.Struct):  # a reply shape of the tests' own
    decisions: list[str]
    action_items: list[str]


class ScriptedLLM:
    """Replies from a script, in order; records what it was asked."""

    context_window = 4096

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.calls: list[list[ChatMessage]] = []
        self.max_tokens: list[int] = []

    def complete(self, messages, *, json_schema=None, max_tokens=512, temperature=0.3) -> str:
        self.calls.append(messages)
        self.max_tokens.append(max_tokens)
        return self.replies.pop(0)

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1


def test_complete_json_strips_fences_and_retries_once_with_the_error() -> None:
    llm = ScriptedLLM('{"action_items": []}', '```json\n{"action_items": [], "decisions": ["Drop it"]}\n```')
    reply = complete_json(llm, [ChatMessage("user", "go")], Listed)
    assert reply.decisions == ["Drop it"]
    assert "decisions" in llm.calls[1][-1].content  # the validation error was shown to the model
    with pytest.raises(LLMError):
        complete_json(ScriptedLLM("nope", "still nope"), [ChatMessage("user", "go")], Listed)


def test_a_reply_cut_off_is_retried_with_more_room() -> None:
    llm = ScriptedLLM('{"decisions": ["Keep the plan", "And then we', '{"decisions": [], "action_items": []}')
    reply = complete_json(llm, [ChatMessage("user", "go")], Listed, max_tokens=100)
    assert reply.decisions == []
    assert llm.max_tokens == [100, 200]
    assert len(llm.calls[1]) == 1 and llm.calls[1][0].content.endswith("Keep every field brief.")


def test_unusable_replies_leave_fields_empty_instead_of_failing_the_meeting() -> None:
    llm = ScriptedLLM("nope", "nope", '{"title": "Plan for finance", "summary": "Evan will send the plan."}')
    words = [Word(w, 0, 1, s.speaker) for s in _segments() for w in s.text.split()]
    topics = detect_topics(llm, words, {0: "Dana", 1: "Evan"})
    summary = summarize(llm, _segments(), topics, {0: "Dana", 1: "Evan"})
    assert [t.title for t in topics] == ["Part 1"] and len(topics[0].words) == len(words)
    assert summary.title == "Plan for finance" and summary.short_summary == "Evan will send the plan."
    # Decisions and items are read from the lines: no reply of the model can lose them.
    assert summary.decisions == ["Finance gets the plan this week"]
    assert [(a.task, a.owner, a.due) for a in summary.action_items] == [
        ("Send the updated plan to finance", "Evan", "on Thursday")
    ]


def test_schema_is_inlined_and_keeps_a_field_called_title() -> None:
    from reflector.pipelines.topics import TopicReply

    schema = json_schema_for(RecapReply)
    assert "$ref" not in json.dumps(schema)
    assert json_schema_for(TopicReply)["required"] == ["title", "summary"]
    assert strip_code_fences('```\n{"a": 1}\n```') == '{"a": 1}'


def _segments() -> list[Segment]:
    lines = [
        (0, "Can you send the updated plan to finance by Friday?"),
        (1, "I will send it on Thursday."),
        (0, "Agreed, finance gets the plan this week."),
    ]
    return [Segment(speaker, i * 5.0, i * 5.0 + 4, text) for i, (speaker, text) in enumerate(lines)]


def test_summary_fields_are_grounded_after_generation() -> None:
    recap = {"title": '"Team Meeting"', "summary": "Evan will send the plan. Sarah approved $9,000."}
    topic_reply = {"title": "Plan for Finance", "summary": "Evan will send the plan on Thursday."}
    llm = ScriptedLLM(json.dumps(topic_reply), json.dumps(recap))
    names = {0: "Dana", 1: "Evan"}
    words = [Word(w, 0, 1, s.speaker) for s in _segments() for w in s.text.split()]
    topics = detect_topics(llm, words, names)
    summary = summarize(llm, _segments(), topics, names)
    assert summary.title == "Plan for Finance"  # the generic title gave way to the topic's
    assert summary.short_summary == "Evan will send the plan."  # Sarah and $9,000 were never said
    assert summary.long_summary.startswith("## Recap\n\nEvan will send the plan.")
    assert "## Plan for Finance" in summary.long_summary
    assert "Dana: Can you send" in llm.calls[1][-1].content  # "Name: text" lines
    assert len(llm.calls) == 2  # the topic and the recap: decisions and items are read, not asked for


def test_empty_transcript_makes_no_call() -> None:
    llm = ScriptedLLM()
    assert detect_topics(llm, [], {}) == []
    summary = summarize(llm, [Segment(0, 0, 1, "  ")], [], {})
    assert (summary.title, summary.long_summary, summary.decisions, summary.action_items) == ("", "", [], [])
    assert llm.calls == []


def test_long_transcript_goes_map_reduce() -> None:
    notes = {"summary": "Evan will send the plan."}
    recap = {"title": "Finance Plan", "summary": "Evan will send the plan."}
    llm = ScriptedLLM(*[json.dumps(notes)] * 5, json.dumps(recap))
    llm.context_window = 1100  # ~200 tokens of transcript per call: 5 chunks
    said = "Can you send it? We agreed finance gets the plan."  # as long as before: five chunks
    segments = [Segment(i % 2, i, i + 1, said) for i in range(60)]
    summary = summarize(llm, segments, [], {0: "Dana", 1: "Evan"})
    assert len(llm.calls) == 6
    assert llm.calls[-1][-1].content.startswith("Notes on consecutive parts")
    assert summary.decisions == ["Finance gets the plan"]  # said sixty times, kept once
    assert summary.title == "Finance Plan"


def test_chunks_end_on_sentences_and_absorb_a_short_tail() -> None:
    words = [Word("word." if i % 10 == 9 else "word", i, i + 1) for i in range(93)]
    chunks = chunk_words(words, size=45)
    assert [len(c) for c in chunks] == [40, 53]  # 40 ends a sentence; a tail of 13 joins it
    assert all(c[-1].text.endswith(".") for c in chunks[:-1])


def test_stock_phrases_are_not_a_summary_of_this_meeting() -> None:
    grounding = Grounding(
        "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
    )
    assert not grounding.is_on_topic("The decision was made to continue the discussion on this topic.")
    assert grounding.keep_grounded_sentences("The meeting covered various points.") == ""
    assert grounding.is_on_topic("The speaker urges Americans to serve their country.")
    assert clean_title("Team Meeting Discussion", grounding) == ""
    assert clean_title("A call to serve the country", grounding) == "A call to serve the country"


def test_title_case_titles_keep_ordinary_words_but_lose_invented_names() -> None:
    grounding = Grounding("Fellow Americans, ask what you can do for your country. Thanks Dana.", ["Evan"])
    assert clean_title("American Values", grounding) == "American Values"
    assert clean_title("Country Review with Sarah and Evan", grounding) == "Country Review and Evan"
    assert clean_title("Sarah's Country Plan", grounding) == "Country Plan"
    assert clean_title("Country Plan for 2025", grounding) == "Country Plan"


@pytest.mark.parametrize(
    ("capped", "kept"),
    [
        # The grammar closed the string at its cap: the sentence it cut is not said half.
        ("Tom will send the plan. Maria agreed to drop the spring conference and move the", "Tom will send the plan."),
        ("The budget was set at 5,000. The team agreed to use the QTH 100%", "The budget was set at 5,000."),
        ('Tom will send the plan. Kenji asked: "by Friday?"', 'Tom will send the plan. Kenji asked: "by Friday?"'),
        ("Whole. Sentences! Only?", "Whole. Sentences! Only?"),
        # One sentence cut short still says something: kept.
        (
            "The team discussed the marketing budget for the next",
            "The team discussed the marketing budget for the next",
        ),
    ],
)
def test_a_reply_cut_at_its_length_cap_loses_its_unfinished_sentence(capped: str, kept: str) -> None:
    assert whole_sentences(capped) == kept


def test_a_participant_no_voice_is_known_for_owns_the_task_said_of_them() -> None:
    segments = [
        Segment(0, 0, 4, "I want data before we commit. Carl will pull the usage numbers for every setting."),
        Segment(1, 5, 8, "The settings documentation is out of date."),
    ]
    recap = json.dumps({"title": "Settings page", "summary": "The settings page was reviewed."})
    without = summarize(ScriptedLLM(recap), segments, [], {})
    assert without.action_items == []  # "Carl" could be anything: a product, a place
    given = summarize(ScriptedLLM(recap), segments, [], {}, participants=("Ines", "Carl Berg", "Mei"))
    assert [(a.task, a.owner) for a in given.action_items] == [
        ("Pull the usage numbers for every setting", "Carl Berg")
    ]
