"""Topics: the transcript cut where its subject changes, each part titled and summarized by the LLM.

The cut comes from the words themselves (`topic_segmentation`: lexical cohesion and new-subject cues),
not from the model: a 1.5B model asked to find boundaries finds one topic per meeting. A part longer
than TOPIC_CHUNK_WORDS is cut again at a sentence end, so that a long monologue still gives a topic
every few minutes and each chunk fits one call when read alone.

The transcript is read once. When the whole of it fits the context window, every call (each part's
topic here, then the recap in `summarize`) starts with the same system prompt and the same
transcript, its parts marked, and only the task after it differs: llama.cpp keeps that shared prefix in
its KV cache and reads just the few dozen tokens of each task (an OpenAI-compatible llama.cpp server
does the same with its prompt cache). A transcript too long for one call is read chunk by chunk.
"""

import re
from collections.abc import Sequence
from typing import Annotated

import msgspec
import structlog

from reflector.pipelines.grounding import Grounding, clean_title, whole_sentences
from reflector.pipelines.llm import LLMError, complete_json, llm_task
from reflector.pipelines.protocols import LLM, ChatMessage
from reflector.pipelines.topic_segmentation import split_topics
from reflector.pipelines.types import ProgressFn, Topic, Word, no_progress, speaker_label

log = structlog.get_logger(__name__)

# ~3 minutes of speech: long enough for a subject, short enough that a 1.5B model keeps the facts
# straight and a topic appears in the UI every few minutes of a long meeting.
TOPIC_CHUNK_WORDS = 450
# A last chunk shorter than this share of a chunk joins the one before it.
MIN_LAST_CHUNK = 0.4

SYSTEM_PROMPT = (
    "You analyse meeting transcripts. Use only facts, names and numbers stated in the transcript. "
    "Never invent people, dates or figures. Answer in JSON."
)

TOPIC_PROMPT = """Give this part of the meeting a topic.
- title: its main subject in 3 to 8 words, specific (not "Team meeting" or "Discussion"),
  no quotes, in sentence case: capitalize only the first word and names.
- summary: one sentence on what was said or decided, naming the people who said it."""

# The same task for one part of a transcript read whole; the part's first and last words point the
# model at it (a number alone is easy to lose in a long transcript).
PART_PROMPT = """Give part {number} of the meeting a topic. Part {number} starts with "{first}" and ends with
"{last}".
- title: the main subject of part {number} in 3 to 8 words, specific (not "Team meeting" or "Discussion"),
  no quotes, in sentence case: capitalize only the first word and names.
- summary: one sentence on what was said or decided in part {number}, naming the people who said it."""

# A title that names the part rather than its subject ("The lines under [Part 3]") says nothing.
_PART_TITLE = re.compile(r"\[|\bpart\s+\d|\blines under\b", re.IGNORECASE)

# Room kept beside the transcript for the task and the longest reply (the recap, retried with twice its
# 250 tokens) in one call.
TASK_TOKENS = 400
REPLY_TOKENS = 500


# Length caps in characters, enforced by the reply grammar: a 1.5B model asked for one sentence sometimes
# writes ten, repeating itself, and on 2 cores every token costs ~30 ms. The grammar closes the string at
# the cap; `whole_sentences` then drops the sentence it cut.
Title = Annotated[str, msgspec.Meta(max_length=80)]
OneSentence = Annotated[str, msgspec.Meta(max_length=300)]


class TopicReply(msgspec.Struct):
    title: Title
    summary: OneSentence


def speaker_name(speaker: int, speaker_names: dict[int, str]) -> str:
    return speaker_names.get(speaker) or speaker_label(speaker)


def transcript_lines(turns: list[tuple[int, str]], speaker_names: dict[int, str]) -> str:
    """ "Name: text" lines, one per run of the same speaker."""
    lines: list[str] = []
    previous: int | None = None
    for speaker, text in turns:
        text = text.strip()
        if not text:
            continue
        if speaker == previous:
            lines[-1] += " " + text
        else:
            lines.append(f"{speaker_name(speaker, speaker_names)}: {text}")
        previous = speaker
    return "\n".join(lines)


def words_text(words: list[Word], speaker_names: dict[int, str]) -> str:
    return transcript_lines([(w.speaker, w.text) for w in words], speaker_names)


def analysis_document(parts: Sequence[list[Word]], speaker_names: dict[int, str]) -> str:
    """The transcript every analysis call reads: one part is its lines as they are; several are marked
    "[Part N]" so that a task can name one. Built the same way by the topics and the summary steps, so
    that their prompts share it token for token."""
    if len(parts) == 1:
        return words_text(parts[0], speaker_names)
    return "\n".join(f"[Part {n}]\n{words_text(part, speaker_names)}" for n, part in enumerate(parts, start=1))


def fits_whole(llm: LLM, document: str) -> bool:
    """Whether one call can hold the whole transcript beside a task and its reply."""
    return llm.count_tokens(document) + TASK_TOKENS + REPLY_TOKENS <= llm.context_window


def transcript_message(transcript: str, task: str) -> list[ChatMessage]:
    # Transcript first, task after: consecutive calls over the same transcript share a prompt
    # prefix, which llama.cpp keeps in its KV cache instead of reading it again. Nothing that varies
    # between the calls (names, part numbers) may come before the transcript.
    return [
        ChatMessage("system", SYSTEM_PROMPT),
        ChatMessage("user", f"Transcript:\n{transcript}\n\n{task}"),
    ]


def chunk_words(words: list[Word], size: int = TOPIC_CHUNK_WORDS) -> list[list[Word]]:
    """Chunks of about `size` words, cut at a sentence end near the target where there is one."""
    chunks: list[list[Word]] = []
    start = 0
    while start < len(words):
        end = min(start + size, len(words))
        if end < len(words):
            # Walk back up to a quarter of a chunk to end on a sentence.
            for cut in range(end, end - size // 4, -1):
                if words[cut - 1].text.rstrip().endswith((".", "?", "!")):
                    end = cut
                    break
        chunks.append(words[start:end])
        start = end
    if len(chunks) > 1 and len(chunks[-1]) < size * MIN_LAST_CHUNK:
        chunks[-2].extend(chunks.pop())
    return chunks


def detect_topics(
    llm: LLM,
    words: list[Word],
    speaker_names: dict[int, str],
    progress: ProgressFn = no_progress,
    chunk_size: int = TOPIC_CHUNK_WORDS,
) -> list[Topic]:
    """One topic per part of the transcript, titled and summarized by the LLM: reading the whole transcript
    once with the chunks marked as parts when it fits the context window, else each chunk alone."""
    if not any(w.text.strip() for w in words):
        progress(1.0)
        return []
    # Keep a chunk and its reply well inside the context window whatever the setting.
    size = max(50, min(chunk_size, (llm.context_window - 600) // 2))
    chunks = [piece for part in split_topics(words) for piece in chunk_words(part, size)]
    grounding = Grounding(words_text(words, speaker_names), speaker_names.values())
    document = analysis_document(chunks, speaker_names)
    whole = len(chunks) > 1 and fits_whole(llm, document)
    log.info("topics.parts", parts=len(chunks), shared_transcript=whole or len(chunks) == 1)
    topics: list[Topic] = []
    for number, chunk in enumerate(chunks, start=1):
        if whole:
            first, last = _edge_words(chunk)
            message = transcript_message(document, PART_PROMPT.format(number=number, first=first, last=last))
        else:
            message = transcript_message(words_text(chunk, speaker_names), TOPIC_PROMPT)
        try:
            with llm_task("topic"):
                reply = complete_json(llm, message, TopicReply, max_tokens=200)
        except LLMError as exc:  # the chunk keeps its words and times under a plain title
            log.warning("topics.reply_unusable", topic=number, error=str(exc))
            reply = TopicReply(title="", summary="")
        title = "" if _PART_TITLE.search(reply.title) else clean_title(reply.title, grounding)
        title = title or f"Part {number}"
        summary = grounding.keep_grounded_sentences(whole_sentences(reply.summary))
        topics.append(Topic(title=title, summary=summary, start=chunk[0].start, end=chunk[-1].end, words=chunk))
        log.info("topics.detected", topic=number, of=len(chunks), title=title)
        progress(number / len(chunks))
    return topics


def _edge_words(chunk: list[Word], count: int = 6) -> tuple[str, str]:
    texts = [w.text.strip() for w in chunk if w.text.strip()]
    return " ".join(texts[:count]), " ".join(texts[-count:])
