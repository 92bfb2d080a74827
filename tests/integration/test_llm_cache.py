"""The embedded LLM reads a meeting's transcript once for all its analysis calls, and its grammar-constrained
sampling (the grammar asked about the chosen token, the whole vocabulary filtered only when it is refused)
writes what grammar-first sampling writes."""

from pathlib import Path

import llama_cpp
import msgspec
import pytest

from reflector.pipelines.llm import EmbeddedLLM, json_schema_for
from reflector.pipelines.model_files import assemble_llm_weights
from reflector.pipelines.protocols import ChatMessage
from reflector.pipelines.summarize import RecapReply, summarize
from reflector.pipelines.topics import analysis_document, detect_topics
from reflector.pipelines.types import Segment, Word
from tests.paths import REPO, SYNTHETIC

pytestmark = pytest.mark.slow


def _meeting(stm: Path, offset: float, order: list[str]) -> tuple[list[Segment], list[Word]]:
    segments: list[Segment] = []
    words: list[Word] = []
    for line in stm.read_text().splitlines():
        if not line.strip():
            continue
        _file, _channel, name, start, end, text = line.split(maxsplit=5)
        if name not in order:
            order.append(name)
        speaker, begin, finish = order.index(name), offset + float(start), offset + float(end)
        segments.append(Segment(speaker, begin, finish, text))
        tokens = text.split()
        step = (finish - begin) / len(tokens)
        words += [Word(t, begin + i * step, begin + (i + 1) * step, speaker) for i, t in enumerate(tokens)]
    return segments, words


class ReadCounter:
    """The embedded LLM, counting the prompt tokens llama.cpp actually read (not those its cache held)."""

    def __init__(self, llm: EmbeddedLLM) -> None:
        self.llm, self.context_window, self.read, self.calls = llm, llm.context_window, 0, 0

    def complete(self, messages, **kwargs) -> str:
        ctx = self.llm._llama.ctx
        llama_cpp.llama_perf_context_reset(ctx)
        reply = self.llm.complete(messages, **kwargs)
        self.read += llama_cpp.llama_perf_context(ctx).n_p_eval
        self.calls += 1
        return reply

    def count_tokens(self, text: str) -> int:
        return self.llm.count_tokens(text)


@pytest.fixture(scope="module")
def model_path() -> Path:
    return assemble_llm_weights(REPO / "data" / "models")


def test_every_analysis_call_reads_only_its_task_after_the_first(model_path: Path) -> None:
    llm = ReadCounter(EmbeddedLLM(model_path, context_window=4096))
    # Two meetings back to back, in parts of ~150 words.
    order: list[str] = []
    segments: list[Segment] = []
    words: list[Word] = []
    for number, stm in enumerate([SYNTHETIC / "standup.stm", SYNTHETIC / "budget.stm"]):
        more_segments, more_words = _meeting(stm, 300.0 * number, order)
        segments += more_segments
        words += more_words
    names = {number: name.capitalize() for number, name in enumerate(order)}

    topics = detect_topics(llm, words, names, chunk_size=150)
    summary = summarize(llm, segments, topics, names)

    document = analysis_document([t.words for t in topics], names)
    print(f"\n{llm.calls} calls read {llm.read} prompt tokens; the transcript is {llm.count_tokens(document)}")
    print(f" topics: {[t.title for t in topics]}\n title: {summary.title}\n items: {summary.action_items}")
    assert len(topics) >= 2 and llm.calls >= len(topics) + 1
    # The system prompt and the transcript once, then at most ~200 tokens of task per call (a retry too).
    assert llm.read <= llm.count_tokens(document) + 60 + 200 * llm.calls
    assert all(not t.title.startswith("Part ") for t in topics), [t.title for t in topics]
    assert summary.title and summary.short_summary


def test_grammar_checked_on_the_chosen_token_writes_what_grammar_first_writes(model_path: Path) -> None:
    lines = [line.split(maxsplit=5) for line in (SYNTHETIC / "budget.stm").read_text().splitlines() if line.strip()]
    transcript = "\n".join(f"{row[2].capitalize()}: {row[5]}" for row in lines)
    messages = [
        ChatMessage("system", "You analyse meeting transcripts. Answer in JSON."),
        ChatMessage("user", f"Transcript:\n{transcript}\n\nSummarize this meeting with a title."),
    ]
    schema = json_schema_for(RecapReply)
    replies = []
    for lazy in (True, False):
        llm = EmbeddedLLM(model_path, context_window=2048, lazy_grammar=lazy)
        # Greedy: both ways pick the most likely token the grammar allows, so the replies must be equal.
        replies.append(llm.complete(messages, json_schema=schema, max_tokens=60, temperature=0.0))
        del llm
    print(f"\n{replies[0]}")
    assert replies[0] == replies[1]
    assert replies[0].lstrip().startswith('{"title"') or replies[0].lstrip().startswith('{ "title"')


# A request a small model answers by repeating one list element.
REPEATING = [
    ChatMessage("system", "Answer in JSON."),
    ChatMessage("user", 'Write {"items": [...]} with the word "ship" in the list twelve times, then "done".'),
]
REPEATING_SCHEMA = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": {"type": "string"}}},
    "required": ["items"],
}


def test_a_reply_that_repeats_a_list_element_stops_being_written_there(model_path: Path) -> None:
    llm = EmbeddedLLM(model_path, context_window=2048)
    ctx = llm._llama.ctx
    llama_cpp.llama_perf_context_reset(ctx)
    reply = llm.complete(REPEATING, json_schema=REPEATING_SCHEMA, max_tokens=120, temperature=0.0)
    written = llama_cpp.llama_perf_context(ctx).n_eval
    print(f"\n{reply!r}: {written} tokens written")
    # The second "ship" ends the reply: what is kept is valid, and the other ten were never written.
    assert msgspec.json.decode(reply) == {"items": ["ship"]}
    assert written <= 15
