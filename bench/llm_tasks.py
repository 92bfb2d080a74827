"""The LLM half of the file pipeline (topics, then summarize) per task: prompt tokens, tokens actually read
(the rest came from llama.cpp's cache), generated tokens and seconds; this tree against another commit, in
the same run.

    .venv/bin/python bench/llm_tasks.py [--minutes 10] [--baseline REF] [--transcript FILE] [--repeat 1]

The transcript is the 10-minute recording of `bench/pipeline.py` through the speech steps (or FILE, a JSON
`{"duration", "words"}` a previous run saved with --save FILE). REF (a commit, say HEAD) is checked out in a
temporary git worktree; each tree runs in its own process on the same transcript with the embedded LLM, A
then B, --repeat times. The 2 cores may be shared with other work: compare rows of one run, not of two.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# Runs inside the tree under test (argv[1]); reads the transcript JSON on stdin; prints one JSON line.
CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import msgspec
from reflector.model_registry import ModelRegistry
from reflector.pipelines import llm as llm_module
from reflector.pipelines.assemble import segments_from_words
from reflector.pipelines.summarize import summarize
from reflector.pipelines.topics import detect_topics
from reflector.pipelines.types import Word
from reflector.settings import load_settings

data = json.loads(sys.stdin.read())
words = msgspec.convert(data["words"], list[Word])
llm = ModelRegistry(load_settings()).llm()
import llama_cpp

TASKS = (("a topic", "topic"), ("Summarize this meeting", "recap"), ("decided", "outcomes"), ("notes", "notes"))


def task_of(messages):
    current = getattr(llm_module, "current_task", None)
    if current is not None and current():
        return current()
    text = messages[-1].content[-800:]
    return next((name for key, name in TASKS if key in text), "other")


calls = []


class Recorder:
    context_window = llm.context_window

    def complete(self, messages, **kwargs):
        ctx = llm._llama.ctx
        llama_cpp.llama_perf_context_reset(ctx)
        started = time.perf_counter()
        reply = llm.complete(messages, **kwargs)
        seconds = time.perf_counter() - started
        perf = llama_cpp.llama_perf_context(ctx)
        calls.append({
            "task": task_of(messages), "prompt": llm._llama.n_tokens - perf.n_eval, "read": perf.n_p_eval,
            "generated": perf.n_eval, "seconds": seconds,
            "read_s": perf.t_p_eval_ms / 1000, "gen_s": perf.t_eval_ms / 1000,
        })
        return reply

    def count_tokens(self, text):
        return llm.count_tokens(text)


recorder = Recorder()
began = time.perf_counter()
topics = detect_topics(recorder, words, {})
topics_s = time.perf_counter() - began
summary = summarize(recorder, segments_from_words(words), topics, {})
total = time.perf_counter() - began
print(json.dumps({
    "calls": calls, "topics_s": topics_s, "total_s": total,
    "topics": [[t.title, t.summary] for t in topics],
    "summary": msgspec.to_builtins(summary),
}))
"""


class TaskRecorder:
    """An embedded LLM that records each call: its task, prompt tokens, tokens read, generated, seconds."""

    def __init__(self, llm: Any) -> None:
        self.llm, self.context_window, self.calls = llm, llm.context_window, []

    def complete(self, messages: list, **kwargs: Any) -> str:
        import llama_cpp

        from reflector.pipelines.llm import current_task

        ctx = self.llm._llama.ctx
        llama_cpp.llama_perf_context_reset(ctx)
        started = time.perf_counter()
        reply = self.llm.complete(messages, **kwargs)
        seconds = time.perf_counter() - started
        perf = llama_cpp.llama_perf_context(ctx)
        self.calls.append(
            {
                "task": current_task() or "other",
                "prompt": self.llm._llama.n_tokens - perf.n_eval,
                "read": perf.n_p_eval,
                "generated": perf.n_eval,
                "seconds": seconds,
                "read_s": perf.t_p_eval_ms / 1000,
                "gen_s": perf.t_eval_ms / 1000,
            }
        )
        return reply

    def count_tokens(self, text: str) -> int:
        return self.llm.count_tokens(text)


def speech_transcript(minutes: float) -> dict:
    """The words of bench/pipeline.py's recording, through decode..assemble."""
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    import msgspec
    from pipeline import build_recording

    from reflector.model_registry import ModelRegistry
    from reflector.pipelines.meeting import MeetingPipeline, MemoryCheckpoints, PipelineOptions
    from reflector.settings import load_settings

    class Quiet:
        async def started(self, step: str) -> None: ...
        def progress(self, step: str, fraction: float) -> None: ...
        async def finished(self, step: str, seconds: float, output: object) -> None: ...
        async def restored(self, step: str, output: object) -> None: ...

    with tempfile.TemporaryDirectory() as tmp:
        path = build_recording(minutes, Path(tmp) / "meeting.wav")
        pipeline = MeetingPipeline(
            ModelRegistry(load_settings()), PipelineOptions(summarize=False), MemoryCheckpoints(), Quiet()
        )
        outputs = asyncio.run(pipeline.run(path))
    return {"duration": outputs.duration, "words": msgspec.to_builtins(outputs.words)}


def run_tree(tree: Path, transcript: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree)],
        input=json.dumps(transcript),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the LLM half failed in {tree}:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


FIGURES = ("prompt", "read", "generated", "seconds", "read_s", "gen_s")


def by_task(result: dict) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for call in result["calls"]:
        row = rows.setdefault(call["task"], dict.fromkeys(("calls", *FIGURES), 0))
        row["calls"] += 1
        for key in FIGURES:
            row[key] += call[key]
    return rows


def total_of(result: dict) -> dict:
    total = dict.fromkeys(("calls", *FIGURES), 0)
    for row in by_task(result).values():
        for key in total:
            total[key] += row[key]
    return total


def print_tasks(result: dict) -> None:
    # read: prompt tokens llama.cpp computed (the rest its cache held); sampling: the call's time outside
    # llama.cpp's decoding (the grammar, Python).
    print(
        f"{'task':<10} {'calls':>5} {'prompt tok':>10} {'read tok':>9} {'generated':>9} {'seconds':>8}"
        f" {'reading':>8} {'writing':>8} {'sampling':>8}"
    )
    for task, row in [*by_task(result).items(), ("all", total_of(result))]:
        print(
            f"{task:<10} {row['calls']:>5} {row['prompt']:>10} {row['read']:>9} {row['generated']:>9}"
            f" {row['seconds']:>8.1f} {row['read_s']:>8.1f} {row['gen_s']:>8.1f}"
            f" {row['seconds'] - row['read_s'] - row['gen_s']:>8.1f}"
        )


def print_result(name: str, result: dict, duration: float) -> None:
    print(f"\n== {name}")
    print_tasks(result)
    total = total_of(result)
    print(
        f"LLM half {result['total_s']:.1f} s ({duration / result['total_s']:.1f}x real time); "
        f"llama.cpp read {total['read'] / max(total['read_s'], 1e-9):.0f} tok/s, "
        f"wrote {total['generated'] / max(total['gen_s'], 1e-9):.1f} tok/s"
    )
    print("topics: " + " | ".join(title for title, _ in result["topics"]))
    summary = result["summary"]
    print(f"title: {summary['title']}\nsummary: {summary['short_summary']}")
    print(f"decisions: {summary['decisions']}")
    print("action items: " + "; ".join(f"{a['task']} ({a['owner']}, {a['due']})" for a in summary["action_items"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--baseline", default=None, help="a commit to compare with, e.g. HEAD")
    parser.add_argument("--transcript", type=Path, default=None, help="a transcript JSON saved by --save")
    parser.add_argument("--save", type=Path, default=None, help="write the transcript JSON here")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only-baseline", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="append each run's raw figures here (JSON lines)")
    args = parser.parse_args()

    transcript = json.loads(args.transcript.read_text()) if args.transcript else speech_transcript(args.minutes)
    if args.save:
        args.save.write_text(json.dumps(transcript))
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    duration = transcript["duration"]
    print(f"CPU: {cpu}, {os.cpu_count()} cores; transcript {duration:.0f} s, {len(transcript['words'])} words")

    with tempfile.TemporaryDirectory() as tmp:
        trees: list[tuple[str, Path]] = [] if args.only_baseline else [("this tree", REPO)]
        if args.baseline:
            worktree = Path(tmp) / "baseline"
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), args.baseline],
                check=True,
                capture_output=True,
            )
            trees.insert(0, (f"baseline {args.baseline}", worktree))
        try:
            for round_ in range(1, args.repeat + 1):
                for name, tree in trees:
                    result = run_tree(tree, transcript)
                    print_result(f"{name} (round {round_})", result, duration)
                    if args.out:
                        with args.out.open("a") as out:
                            out.write(json.dumps({"tree": name, "round": round_, **result}) + "\n")
        finally:
            if args.baseline:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], check=False)


if __name__ == "__main__":
    main()
