"""The analysis reads the transcript once: every call over a transcript that fits starts with the same
system prompt and transcript, and only the task after it differs (llama.cpp keeps that prefix cached)."""

import json

from reflector.pipelines.assemble import segments_from_words
from reflector.pipelines.protocols import ChatMessage
from reflector.pipelines.summarize import summarize
from reflector.pipelines.topics import detect_topics
from reflector.pipelines.types import Word

SENTENCES = [
    "The billing migration moved forty accounts last night.",
    "Can you check the rollback script before Friday?",
    "The hiring panel meets on Tuesday to review candidates.",
    "We agreed to freeze the release until the review is done.",
]


class ScriptedLLM:
    """Answers every call with a fitting JSON reply; records what it was asked."""

    def __init__(self, context_window: int = 4096) -> None:
        self.context_window = context_window
        self.calls: list[list[ChatMessage]] = []

    def complete(self, messages, *, json_schema=None, max_tokens=512, temperature=0.3) -> str:
        self.calls.append(messages)
        return json.dumps({"title": "Billing migration", "summary": "The billing migration moved forty accounts."})

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1


def _words(count: int) -> list[Word]:
    tokens = " ".join(SENTENCES[i % len(SENTENCES)] for i in range(count // 8 + 1)).split()[:count]
    # A speaker change every 30 words.
    return [Word(token, i * 0.4, i * 0.4 + 0.3, (i // 30) % 3) for i, token in enumerate(tokens)]


def _prefix_and_task(message: list[ChatMessage]) -> tuple[tuple[str, str], str]:
    system, user = message
    transcript, _, task = user.content.rpartition("\n\n")
    return (system.content, transcript), task


def test_topics_and_summary_share_one_transcript_prefix() -> None:
    words = _words(1100)
    names = {0: "Dana", 1: "Evan"}
    llm = ScriptedLLM()
    topics = detect_topics(llm, words, names)
    summarize(llm, segments_from_words(words), topics, names)

    assert len(topics) >= 2 and len(llm.calls) == len(topics) + 1  # a topic per part, then the recap
    prefixes = {_prefix_and_task(call)[0] for call in llm.calls}
    assert len(prefixes) == 1, "every call starts with the same system prompt and transcript"
    ((_, transcript),) = prefixes
    assert all(f"[Part {n}]" in transcript for n in range(1, len(topics) + 1))
    assert "Dana: " in transcript and "Speaker 3: " in transcript
    tasks = [_prefix_and_task(call)[1] for call in llm.calls]
    assert len(set(tasks)) == len(tasks)
    assert all(f"part {n}" in task for n, task in enumerate(tasks[: len(topics)], start=1))


def test_a_transcript_too_long_for_one_call_is_read_chunk_by_chunk() -> None:
    words = _words(1100)
    llm = ScriptedLLM(context_window=1400)  # ~1,800 tokens of transcript: no call can hold it all
    topics = detect_topics(llm, words, {})
    assert len(topics) >= 2
    for call, topic in zip(llm.calls, topics, strict=True):
        (_, transcript), _ = _prefix_and_task(call)
        assert "[Part" not in transcript and transcript.endswith(topic.words[-1].text)


def test_a_single_part_reads_as_before_and_is_shared_with_the_summary() -> None:
    words = _words(200)
    llm = ScriptedLLM()
    topics = detect_topics(llm, words, {})
    summarize(llm, segments_from_words(words), topics, {})
    assert len(topics) == 1 and len(llm.calls) == 2
    assert len({_prefix_and_task(call)[0] for call in llm.calls}) == 1
    assert "[Part" not in llm.calls[0][1].content


def test_a_title_that_names_the_part_instead_of_its_subject_is_dropped() -> None:
    class EchoingLLM(ScriptedLLM):
        def complete(self, messages, **kwargs) -> str:
            self.calls.append(messages)
            return json.dumps({"title": f"The lines under [Part {len(self.calls)}]", "summary": ""})

    topics = detect_topics(EchoingLLM(), _words(1100), {})
    assert [t.title for t in topics] == [f"Part {n}" for n in range(1, len(topics) + 1)]
