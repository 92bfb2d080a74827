"""Meeting title, summaries, decisions and action items, grounded in the transcript.

Decisions and action items are read from the transcript's lines (`outcomes`), not written by the LLM.
The title and recap of a transcript that fits the context window take one call over the very transcript
the topic calls read before it (parts marked the same way, see `topics.analysis_document`): llama.cpp
has it in its KV cache already and reads only the task. A longer one goes map-reduce: notes per chunk,
then the recap over the notes. What the LLM wrote is checked against the transcript before it is
returned.
"""

from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

import msgspec
import structlog

from reflector.pipelines.grounding import Grounding, clean_title, whole_sentences
from reflector.pipelines.llm import LLMError, complete_json, llm_task
from reflector.pipelines.outcomes import Outcome, find_outcomes
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

NOTES_PROMPT = """Take notes on this part of a meeting.
- summary: two or three sentences on what was discussed and decided, naming who said it."""

MAX_DECISIONS = 40
MAX_ACTION_ITEMS = 60

GENERIC_TITLES = {
    "meeting",
    "team meeting",
    "meeting summary",
    "weekly meeting",
    "status update",
    "discussion",
}


# Length caps: see topics.Title. Two to four short sentences fit in 450 characters; more was the model
# running on ("The team also discussed ...").
class RecapReply(msgspec.Struct):
    title: Title
    summary: Annotated[str, msgspec.Meta(max_length=450)]


class NotesReply(msgspec.Struct):
    summary: Annotated[str, msgspec.Meta(max_length=600)]


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
    participants: Sequence[str] = (),
) -> Summary:
    """`participants`: the people known to take part (PipelineOptions.participants), who may own a task
    said of them ("Carl will pull the numbers") before any voice is known to be theirs."""
    transcript = transcript_lines([(s.speaker, s.text) for s in segments], speaker_names)
    if not transcript:
        progress(1.0)
        return Summary(title="", short_summary="", long_summary="", decisions=[], action_items=[])
    names_note = _names_note(speaker_names)
    # Unnamed speakers are "Speaker N" in the transcript: owners may be those labels.
    labels = {s.speaker: speaker_name(s.speaker, speaker_names) for s in segments}
    grounding = Grounding(transcript, [*labels.values(), *participants])
    # Speakers, participants, and people the transcript addresses by name ("Bob, can you ...?").
    people = list(dict.fromkeys([*labels.values(), *grounding.people.values()]))
    unnamed = [label for speaker, label in labels.items() if not speaker_names.get(speaker)]
    outcomes = find_outcomes(_lines(transcript), people, unnamed, known=[*labels.values(), *participants])
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
    else:
        recap = _map_reduce(llm, transcript, names_note, progress)
    progress(1.0)
    return _grounded_summary(grounding, topics, recap, outcomes)


def _lines(transcript: str) -> list[tuple[str, str]]:
    """("Name", "text") for each "Name: text" line."""
    return [(name, text) for name, _, text in (line.partition(": ") for line in transcript.splitlines())]


def _or_nothing(call: Callable[[], R], nothing: R) -> R:
    """One field set the model could not write is left empty rather than failing the whole meeting:
    the transcript and the topics are still worth having."""
    try:
        return call()
    except LLMError as exc:
        log.warning("summarize.reply_unusable", error=str(exc))
        return nothing


def _map_reduce(llm: LLM, transcript: str, names_note: str, progress: ProgressFn) -> RecapReply:
    chunks = _split_to_fit(llm, transcript.splitlines())
    log.info("summarize.map_reduce", chunks=len(chunks))
    notes: list[NotesReply] = []
    for number, chunk in enumerate(chunks, start=1):
        message = transcript_message(chunk, NOTES_PROMPT + names_note)
        with llm_task("notes"):
            notes.append(
                _or_nothing(
                    lambda message=message: complete_json(llm, message, NotesReply, max_tokens=300),
                    NotesReply(summary=""),
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
    return _recap(llm, "\n".join(summaries), names_note, RecapReply(title="", summary=""))


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


def _grounded_summary(grounding: Grounding, topics: list[Topic], recap: RecapReply, outcomes: list[Outcome]) -> Summary:
    title = clean_title(recap.title, grounding)
    if title.lower() in GENERIC_TITLES or not title:
        title = topics[0].title if topics else title
    short_summary = grounding.keep_grounded_sentences(whole_sentences(recap.summary))
    if not short_summary and topics:
        short_summary = " ".join(t.summary for t in topics if t.summary)
    # Read from the transcript's own lines, decisions and items need no grounding; the caps keep a page
    # of a day-long workshop readable.
    decisions = [o.text for o in outcomes if o.kind == "decision"][:MAX_DECISIONS]
    action_items = [
        ActionItem(task=o.text, owner=grounding.person(o.owner), due=o.due) for o in outcomes if o.kind == "task"
    ][:MAX_ACTION_ITEMS]
    sections = [f"## Recap\n\n{short_summary}"] if short_summary else []
    sections += [f"## {t.title}\n\n{t.summary}" for t in topics if t.summary]
    log.info("summarize.grounded", title=title, decisions=len(decisions), action_items=len(action_items))
    return Summary(
        title=title,
        short_summary=short_summary,
        long_summary="\n\n".join(sections),
        decisions=decisions,
        action_items=action_items,
    )
