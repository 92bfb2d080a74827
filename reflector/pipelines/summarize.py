"""Meeting title, summaries, decisions and action items, grounded in the transcript.

A transcript that fits the context window takes two calls (recap, then outcomes) that share the
transcript as their prompt prefix, the very transcript the topic calls read before them (parts marked
the same way, see `topics.analysis_document`): llama.cpp has it in its KV cache already and reads only
the tasks. A longer one goes map-reduce: notes per chunk, then the recap over the notes. Every field is
checked against the transcript before it is returned.
"""

import re
from collections.abc import Callable, Iterable
from typing import Annotated, TypeVar

import msgspec
import structlog

from reflector.pipelines.decisions import settled_decisions
from reflector.pipelines.grounding import (
    Grounding,
    asked_task,
    attribute_owner,
    clean_title,
    quoted_line,
    sets_a_task,
    whole_sentences,
)
from reflector.pipelines.llm import LLMError, complete_json, llm_task
from reflector.pipelines.protocols import LLM, ChatMessage
from reflector.pipelines.topics import (
    REPLY_TOKENS,
    SYSTEM_PROMPT,
    TASK_TOKENS,
    Title,
    analysis_document,
    fits_whole,
    speaker_name,
    transcript_lines,
    transcript_message,
)
from reflector.pipelines.types import ActionItem, ProgressFn, Segment, Summary, Topic, no_progress

log = structlog.get_logger(__name__)

R = TypeVar("R")

# Room kept for the instructions and the reply beside the transcript in one call.
PROMPT_TOKENS = TASK_TOKENS

RECAP_PROMPT = """Summarize this meeting.
- title: the meeting's main subject in 3 to 8 words, specific (not "Team meeting"), no quotes,
  in sentence case: capitalize only the first word and names.
- summary: two to four sentences: what was discussed, what was decided, and by whom."""

_ACTION_RULES = """- decisions: what the group decided or agreed (a line like "Decision: ..." or "we agreed to ..."),
  one short sentence each, each decision once; [] if none.
- action_items: every task a person said they will do ("I will ...", "I can ...") or was asked
  to do ("Can you ...?"); not work already done, not questions. The owner of an asked task is the
  person asked, not the one asking.
  quote: the transcript sentence where the task is agreed. owner: that person's name.
  task: what they will do, starting with a verb.
  due: when, in the transcript's own words (like "Friday"), or null."""

OUTCOMES_PROMPT = "List what the meeting decided, and who will do what.\n" + _ACTION_RULES

NOTES_PROMPT = (
    "Take notes on this part of a meeting.\n"
    "- summary: two or three sentences on what was discussed and decided, naming who said it.\n" + _ACTION_RULES
)

MAX_DECISIONS = 10
MAX_ACTION_ITEMS = 15

GENERIC_TITLES = {
    "meeting",
    "team meeting",
    "meeting summary",
    "weekly meeting",
    "status update",
    "discussion",
}


# Field order is the order the grammar makes the model write them: the quoted line first, so the
# owner can be read from it (see grounding.attribute_owner) rather than guessed.
class ActionItemReply(msgspec.Struct):
    quote: Annotated[str, msgspec.Meta(max_length=300)]
    owner: Annotated[str, msgspec.Meta(max_length=40)] | None
    task: Annotated[str, msgspec.Meta(max_length=160)]
    due: Annotated[str, msgspec.Meta(max_length=60)] | None


Decision = Annotated[str, msgspec.Meta(max_length=200)]


# Length caps: see topics.Title. Two to four short sentences fit in 450 characters; more was the model
# running on ("The team also discussed ...").
class RecapReply(msgspec.Struct):
    title: Title
    summary: Annotated[str, msgspec.Meta(max_length=450)]


# Decisions first: written after the action items, they came out empty (the model had listed
# them as tasks). The caps keep a looping model from filling its whole reply with items.
class OutcomesReply(msgspec.Struct):
    decisions: Annotated[list[Decision], msgspec.Meta(max_length=MAX_DECISIONS)]
    action_items: Annotated[list[ActionItemReply], msgspec.Meta(max_length=MAX_ACTION_ITEMS)]


class NotesReply(msgspec.Struct):
    summary: Annotated[str, msgspec.Meta(max_length=600)]
    decisions: Annotated[list[Decision], msgspec.Meta(max_length=MAX_DECISIONS)]
    action_items: Annotated[list[ActionItemReply], msgspec.Meta(max_length=MAX_ACTION_ITEMS)]


def _names_note(speaker_names: dict[int, str]) -> str:
    names = ", ".join(dict.fromkeys(n for n in speaker_names.values() if n))
    return f"\nThe speakers are {names}; refer to them by these names." if names else ""


def _fits(llm: LLM, text: str) -> bool:
    return llm.count_tokens(text) + PROMPT_TOKENS + REPLY_TOKENS <= llm.context_window


def _split_to_fit(llm: LLM, lines: list[str]) -> list[str]:
    """Consecutive lines grouped into texts that each fit one call (an overlong line is cut)."""
    budget = llm.context_window - PROMPT_TOKENS - REPLY_TOKENS
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for line in lines:
        cost = llm.count_tokens(line) + 1
        if cost > budget:  # one speaker talking for pages: cut by characters, ~4 a token
            line, cost = line[: budget * 3], budget * 3 // 4
        if current and used + cost > budget:
            chunks.append("\n".join(current))
            current, used = [], 0
        current.append(line)
        used += cost
    if current:
        chunks.append("\n".join(current))
    return chunks


def summarize(
    llm: LLM,
    segments: list[Segment],
    topics: list[Topic],
    speaker_names: dict[int, str],
    progress: ProgressFn = no_progress,
) -> Summary:
    transcript = transcript_lines([(s.speaker, s.text) for s in segments], speaker_names)
    if not transcript:
        progress(1.0)
        return Summary(title="", short_summary="", long_summary="", decisions=[], action_items=[])
    names_note = _names_note(speaker_names)
    # The topics' words are the segments' words: read as the topic calls read them, the transcript is
    # already in the LLM's cache.
    parts = [t.words for t in topics if t.words]
    document = analysis_document(parts, speaker_names) if parts else transcript
    if fits_whole(llm, document):
        with llm_task("recap"):
            recap = _or_nothing(
                lambda: complete_json(
                    llm, transcript_message(document, RECAP_PROMPT + names_note), RecapReply, max_tokens=250
                ),
                RecapReply(title="", summary=""),
            )
        progress(0.5)
        with llm_task("outcomes"):
            outcomes = _or_nothing(
                lambda: complete_json(
                    llm,
                    transcript_message(document, OUTCOMES_PROMPT + names_note),
                    OutcomesReply,
                    max_tokens=900,
                    temperature=0.1,
                ),
                OutcomesReply(decisions=[], action_items=[]),
            )
    else:
        recap, outcomes = _map_reduce(llm, transcript, names_note, progress)
    progress(1.0)
    # Unnamed speakers are "Speaker N" in the transcript the model read: owners may be those labels.
    labels = {s.speaker: speaker_name(s.speaker, speaker_names) for s in segments}
    return _grounded_summary(transcript, labels, topics, recap, outcomes)


def _or_nothing(call: Callable[[], R], nothing: R) -> R:
    """One field set the model could not write is left empty rather than failing the whole meeting:
    the transcript and the topics are still worth having."""
    try:
        return call()
    except LLMError as exc:
        log.warning("summarize.reply_unusable", error=str(exc))
        return nothing


def _map_reduce(llm: LLM, transcript: str, names_note: str, progress: ProgressFn) -> tuple[RecapReply, OutcomesReply]:
    chunks = _split_to_fit(llm, transcript.splitlines())
    log.info("summarize.map_reduce", chunks=len(chunks))
    notes: list[NotesReply] = []
    for number, chunk in enumerate(chunks, start=1):
        message = transcript_message(chunk, NOTES_PROMPT + names_note)
        with llm_task("notes"):
            notes.append(
                _or_nothing(
                    lambda message=message: complete_json(llm, message, NotesReply, max_tokens=900),
                    NotesReply(summary="", decisions=[], action_items=[]),
                )
            )
        progress(0.9 * number / (len(chunks) + 1))
    summaries = [f"Part {i}: {whole_sentences(n.summary)}" for i, n in enumerate(notes, start=1) if n.summary.strip()]
    # Notes of a very long meeting may not fit either: condense them group by group first.
    while not _fits(llm, "\n".join(summaries)) and len(summaries) > 1:
        groups = _split_to_fit(llm, summaries)
        if len(groups) == len(summaries):
            summaries = [s[: len(s) // 2] for s in summaries]
            continue
        summaries = [
            _recap(llm, group, names_note, RecapReply(title="", summary=group[: len(group) // 2])).summary
            for group in groups
        ]
    recap = _recap(llm, "\n".join(summaries), names_note, RecapReply(title="", summary=""))
    outcomes = OutcomesReply(
        decisions=[d for n in notes for d in n.decisions],
        action_items=[a for n in notes for a in n.action_items],
    )
    return recap, outcomes


def _recap(llm: LLM, notes: str, names_note: str, nothing: RecapReply) -> RecapReply:
    if not notes.strip():
        return nothing
    message = _notes_message(notes, RECAP_PROMPT + names_note)
    with llm_task("recap"):
        return _or_nothing(lambda: complete_json(llm, message, RecapReply, max_tokens=250), nothing)


def _notes_message(notes: str, task: str) -> list[ChatMessage]:
    return [
        ChatMessage("system", SYSTEM_PROMPT),
        ChatMessage("user", f"Notes on consecutive parts of one meeting:\n{notes}\n\n{task}"),
    ]


def _grounded_summary(
    transcript: str,
    speaker_names: dict[int, str],
    topics: list[Topic],
    recap: RecapReply,
    outcomes: OutcomesReply,
) -> Summary:
    grounding = Grounding(transcript, speaker_names.values())
    title = clean_title(recap.title, grounding)
    if title.lower() in GENERIC_TITLES or not title:
        title = topics[0].title if topics else title
    short_summary = grounding.keep_grounded_sentences(whole_sentences(recap.summary))
    if not short_summary and topics:
        short_summary = " ".join(t.summary for t in topics if t.summary)
    lines = [(name, text) for name, _, text in (line.partition(": ") for line in transcript.splitlines())]
    decided = settled_decisions([d.strip() for d in outcomes.decisions], lines)
    decisions = _unique(grounding.keep_grounded_sentences(d) for d in decided)
    # Speakers, and people the transcript addresses by name ("Bob, can you ...?").
    people = list(dict.fromkeys([*speaker_names.values(), *grounding.people.values()]))
    action_items = _grounded_action_items(grounding, outcomes.action_items, lines, people)
    sections = [f"## Recap\n\n{short_summary}"] if short_summary else []
    sections += [f"## {t.title}\n\n{t.summary}" for t in topics if t.summary]
    dropped = len(outcomes.action_items) - len(action_items)
    log.info(
        "summarize.grounded",
        title=title,
        decisions=len(decisions),
        action_items=len(action_items),
        action_items_dropped=dropped,
    )
    return Summary(
        title=title,
        short_summary=short_summary,
        long_summary="\n\n".join(sections),
        decisions=decisions,
        action_items=action_items,
    )


def _grounded_action_items(
    grounding: Grounding, items: list[ActionItemReply], lines: list[tuple[str, str]], people: list[str]
) -> list[ActionItem]:
    kept: list[ActionItem] = []
    seen: list[tuple[str | None, set[str]]] = []
    for item in items:
        quote = item.quote
        task = _FIRST_PERSON.sub("", item.task.strip().rstrip("."))
        if _content_words(task) <= _ASSENT and (asked := asked_task(quote)):
            # The model quoted the request and wrote the answer ("I can do that.") as the task: the
            # request says what the task is.
            task = asked
        elif (
            _FIRST_PERSON.match(item.task.strip())
            and not _sets_a_task_in(quote, lines)
            and _sets_a_task_in(item.task, lines)
        ):
            # The model quoted the question before somebody's promise ("Bob, do you want to start?") and
            # wrote the promise as the task ("I will write the rollback script"): the promise is the quote.
            quote = item.task
        task = task[:1].upper() + task[1:]
        why = _unsupported_task(task, quote, grounding, lines)
        if why:
            log.info("action_items.dropped", task=item.task, quote=item.quote, why=why)
            continue
        owner = grounding.person(attribute_owner(quote, lines, people) or item.owner)
        # "Send the plan by Friday" and "Send the updated plan by Thursday" for one person are
        # one task: compare content words without the deadline.
        words = _content_words(task) - _content_words(item.due or "")
        if any(o == owner and (words <= w or w <= words) for o, w in seen):
            log.info("action_items.dropped", task=item.task, why="the same task again")
            continue
        seen.append((owner, words))
        kept.append(ActionItem(task=task, owner=owner, due=grounding.due(item.due)))
    return kept


def _unsupported_task(task: str, quote: str, grounding: Grounding, lines: list[tuple[str, str]]) -> str:
    """Why an action item is dropped whole (a wrong task is worse than a missing one), or ""."""
    if not task or task.endswith("?"):
        return "not a task"
    if not grounding.is_grounded(task):
        return "names someone or a figure nobody said"
    if not grounding.is_on_topic(task):
        return "about nothing the meeting spoke of"
    if quoted_line(quote, lines) is None:
        return "its quote is not in the transcript"
    if not sets_a_task(quote):
        return "its quote sets nobody a task"
    return ""


# What an answer to a request says beside taking it on: no task of its own.
_ASSENT = frozenset(["do", "that", "this", "sure", "yes", "yeah", "ok", "okay", "can", "will", "happy", "fine", "so"])


def _sets_a_task_in(quote: str, lines: list[tuple[str, str]]) -> bool:
    return quoted_line(quote, lines) is not None and sets_a_task(quote)


_FIRST_PERSON = re.compile(r"^(i will|i'll|i can|i am going to|i'm going to|i need to|i should)\s+", re.IGNORECASE)

_STOP = frozenset(["the", "a", "an", "to", "by", "on", "at", "in", "for", "of", "and", "it"])


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9']+", text.lower()) if w not in _STOP}


def _unique(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(t for t in texts if t))
