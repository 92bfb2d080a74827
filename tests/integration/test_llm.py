"""Titles, summaries, decisions and action items from the real embedded model on scripted meetings.

The synthetic meetings' exact scripts stand in for a transcript, so what is asserted is the LLM
stage alone: it names what was discussed, gives tasks to people who were there, and invents no
names or numbers. The same `summarize` then runs against llama.cpp's OpenAI-compatible server.
"""

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from reflector.pipelines.grounding import Grounding
from reflector.pipelines.llm import EmbeddedLLM, OpenAICompatibleLLM
from reflector.pipelines.llm_native import lib_dir
from reflector.pipelines.model_files import assemble_llm_weights
from reflector.pipelines.protocols import LLM
from reflector.pipelines.summarize import summarize
from reflector.pipelines.topics import detect_topics
from reflector.pipelines.types import Segment, Summary, Word
from tests.integration.test_llm_cache import REPEATING, REPEATING_SCHEMA
from tests.net import free_port
from tests.paths import REPO, SYNTHETIC

pytestmark = pytest.mark.slow

CONTEXT = 4096


class Meeting:
    """An STM reference (file, channel, speaker, start, end, text) as pipeline inputs."""

    def __init__(self, stm: Path) -> None:
        rows = [line.split(maxsplit=5) for line in stm.read_text().splitlines() if line.strip()]
        order = list(dict.fromkeys(row[2] for row in rows))
        self.names = {number: name.capitalize() for number, name in enumerate(order)}
        self.segments: list[Segment] = []
        self.words: list[Word] = []
        for _file, _channel, name, start, end, text in rows:
            speaker, begin, finish = order.index(name), float(start), float(end)
            self.segments.append(Segment(speaker, begin, finish, text))
            tokens = text.split()
            step = (finish - begin) / len(tokens)
            self.words += [
                Word(token, begin + i * step, begin + (i + 1) * step, speaker) for i, token in enumerate(tokens)
            ]
        self.grounding = Grounding(" ".join(s.text for s in self.segments), self.names.values())


class CountingLLM:
    def __init__(self, inner: LLM) -> None:
        self.inner, self.calls, self.context_window = inner, 0, inner.context_window

    def complete(self, messages, **kwargs) -> str:
        self.calls += 1
        return self.inner.complete(messages, **kwargs)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


@pytest.fixture(scope="module")
def model_path() -> Path:
    return assemble_llm_weights(REPO / "data" / "models")


@pytest.fixture(scope="module")
def embedded(model_path: Path) -> EmbeddedLLM:
    return EmbeddedLLM(model_path, context_window=CONTEXT)


def _mentions(text: str, keywords: set[str]) -> set[str]:
    return {k for k in keywords if k in text.lower()}


def _assert_grounded(meeting: Meeting, summary: Summary) -> None:
    for text in [summary.title, summary.short_summary, summary.long_summary, *summary.decisions]:
        assert meeting.grounding.is_grounded(text), text
    people = set(meeting.names.values())
    for item in summary.action_items:
        assert meeting.grounding.is_grounded(item.task), item
        assert item.owner is None or set(item.owner.split(" and ")) <= people, item
        assert item.due is None or meeting.grounding.due(item.due) == item.due, item


def _report(name: str, summary: Summary, calls: int, seconds: float) -> None:
    print(f"\n{name}: {calls} calls, {seconds:.1f} s\n title: {summary.title}\n short: {summary.short_summary}")
    print(f" decisions: {summary.decisions}\n action items: {summary.action_items}")


def test_standup_summary_names_the_work_and_its_owners(embedded: EmbeddedLLM) -> None:
    meeting = Meeting(SYNTHETIC / "standup.stm")
    llm = CountingLLM(embedded)
    started = time.monotonic()
    topics = detect_topics(llm, meeting.words, meeting.names)
    summary = summarize(llm, meeting.segments, topics, meeting.names)
    _report("standup", summary, llm.calls, time.monotonic() - started)

    assert topics and topics[0].start == meeting.words[0].start and topics[-1].end == meeting.words[-1].end
    keywords = {"billing", "migration", "rollback", "login", "hiring", "interview", "index"}
    assert _mentions(summary.title, keywords), summary.title
    assert len(_mentions(summary.short_summary, keywords)) >= 2, summary.short_summary
    assert summary.long_summary.startswith("## Recap")
    assert summary.decisions, "the script decides to freeze the billing release"
    assert any(item.owner in {"Alice", "Bob", "Carol"} for item in summary.action_items), summary.action_items
    assert 0 < len(summary.title.split()) <= 10 and '"' not in summary.title
    _assert_grounded(meeting, summary)
    assert llm.calls <= 5


def test_budget_summary_keeps_the_decision_and_the_figures_said(embedded: EmbeddedLLM) -> None:
    meeting = Meeting(SYNTHETIC / "budget.stm")
    llm = CountingLLM(embedded)
    started = time.monotonic()
    topics = detect_topics(llm, meeting.words, meeting.names)
    summary = summarize(llm, meeting.segments, topics, meeting.names)
    _report("budget", summary, llm.calls, time.monotonic() - started)

    keywords = {"budget", "marketing", "ads", "conference", "meetup", "quarter"}
    assert _mentions(summary.title, keywords), summary.title
    assert len(_mentions(summary.short_summary, keywords)) >= 2, summary.short_summary
    assert summary.decisions, "the script decides to drop the conference"
    assert _mentions(" ".join(summary.decisions), {"conference", "ads", "meetup", "booth"}), summary.decisions
    _assert_grounded(meeting, summary)
    assert llm.calls <= 5


@pytest.fixture
def llama_server(model_path: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_ctx", str(CONTEXT), "--n_threads", "2", "--n_threads_batch", "2"]
    # ggml looks for its CPU backend modules in the working directory when nothing points it elsewhere.
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=lib_dir())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "llama_cpp.server did not start in 120 s"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_openai_backend_summarizes_through_a_real_server(llama_server: str) -> None:
    meeting = Meeting(SYNTHETIC / "standup.stm")
    # A base URL without /v1 and a server that refuses `json_schema`: both are handled.
    llm = CountingLLM(OpenAICompatibleLLM(llama_server, model="local", api_key="test", context_window=CONTEXT))
    started = time.monotonic()
    summary = summarize(llm, meeting.segments, [], meeting.names)
    _report("standup via openai", summary, llm.calls, time.monotonic() - started)

    keywords = {"billing", "migration", "rollback", "login", "hiring", "interview", "index"}
    assert _mentions(summary.title + " " + summary.short_summary, keywords)
    assert any(item.owner in {"Alice", "Bob", "Carol"} for item in summary.action_items), summary.action_items
    _assert_grounded(meeting, summary)
    assert llm.calls == 1  # the recap: decisions and items are read from the lines
    # The server writes the whole looping reply; it is cut where the embedded model stops writing.
    reply = llm.complete(REPEATING, json_schema=REPEATING_SCHEMA, max_tokens=120, temperature=0.0)
    assert msgspec.json.decode(reply) == {"items": ["ship"]}


def test_unreachable_server_is_a_clear_error() -> None:
    from reflector.pipelines.protocols import ChatMessage, ModelUnavailable

    llm = OpenAICompatibleLLM(f"http://127.0.0.1:{free_port()}/v1", model="m", timeout=2)
    with pytest.raises(ModelUnavailable, match="LLM_URL"):
        llm.complete([ChatMessage("user", "hi")])


def test_a_caption_is_translated_and_keeps_its_numbers(embedded: EmbeddedLLM) -> None:
    from reflector.pipelines.translate import translate

    french = translate(embedded, "Good morning everyone. The migration now takes forty seconds.", "English", "French")
    print(f"\n{french}")
    assert "secondes" in french.lower() and _mentions(french, {"quarante", "40"}), french
    assert "good morning" not in french.lower()
    assert translate(embedded, "  ", "English", "French") == ""
