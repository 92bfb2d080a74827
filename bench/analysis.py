"""Analysis quality on the gold set (issue 16): topics, decisions and action items against what a careful
note-taker wrote down, for the working tree and, in the same run, another version of the pipeline.

    .venv/bin/python bench/analysis.py [--baseline REF] [--ref REF] [--meetings a,b] [--json OUT]
                                       [--participants] [--no-cache]

Each script of tests/analysis_gold becomes audio with ../shared/tools/make_meeting.py (espeak-ng and sox:
`make test-tools`); bench/analysis_drive.py runs the file pipeline on it, in a subprocess whose
PYTHONPATH starts with the tree under test: the working tree, `--ref REF` instead of it, and `--baseline
REF` before it (a git ref, checked out with `git worktree add` in a temporary folder). Each run is scored
by bench/analysis_score.py; the bench prints one table per pipeline (a row per meeting, then the totals of
the tuning set and of the held-out set apart, beside the issue's targets) and, with --baseline, the
totals of both side by side.

The speech half (decode, transcribe, diarize, assemble) is cached per meeting under --cache, keyed by
the audio and by the tree's speech code (reflector/pipelines, bootstrap.py and settings.py, less the
LLM steps' own files) and the speech settings in the environment: two pipelines whose speech code is the
same analyse the same words, and a second run of the bench redoes only the LLM half.

--participants passes each meeting's speaker names to the pipeline when its PipelineOptions has a
`participants` field (issue 16's known participants); the table says whether they went in.
"""

import argparse
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import analysis_score as scoring  # noqa: E402

GOLD = REPO / "tests" / "analysis_gold"
MAKE_MEETING = REPO.parent / "shared" / "tools" / "make_meeting.py"
DRIVER = REPO / "bench" / "analysis_drive.py"
# Files of the steps after the cached speech half (speaker naming from the words, then the LLM half): a
# change to these keeps the cached speech half valid.
LLM_FILES = {
    *("topics.py", "summarize.py", "llm.py", "llm_native.py", "grounding.py", "decisions.py", "outcomes.py"),
    "speaker_naming.py",
}
SPEECH_ENV_PREFIXES = ("WHISPER", "TRANSCRIBER", "DIARIZ", "MODEL", "HOTWORD", "PARTICIPANT")
# make_meeting.py's options for every meeting: a little noise and natural gaps between turns.
SYNTH_ARGS = ["--gap", "0.4", "--noise", "0.003", "--seed", "7"]


def gold_set(only: list[str] | None) -> list[str]:
    names = sorted(p.name.removesuffix(".gold.json") for p in GOLD.glob("*.gold.json"))
    if only:
        unknown = set(only) - set(names)
        if unknown:
            raise SystemExit(f"no such meeting in {GOLD}: {', '.join(sorted(unknown))}")
        names = [n for n in names if n in only]
    return names


def synthesize(name: str, cache: Path) -> tuple[Path, Path]:
    """The meeting's WAV and STM, made once per version of its script."""
    script = GOLD / f"{name}.txt"
    digest = hashlib.sha256(script.read_bytes() + " ".join(SYNTH_ARGS).encode()).hexdigest()[:16]
    out = cache / "audio" / f"{name}-{digest}"
    if not (out.with_suffix(".wav").is_file() and out.with_suffix(".stm").is_file()):
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, str(MAKE_MEETING), str(script), "--out", str(out), *SYNTH_ARGS],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return out.with_suffix(".wav"), out.with_suffix(".stm")


def speech_digest(tree: Path, participants: bool) -> str:
    h = hashlib.sha256()
    files = sorted((tree / "reflector" / "pipelines").glob("*.py"))
    files += [tree / "reflector" / "bootstrap.py", tree / "reflector" / "settings.py"]
    for path in files:
        if path.name in LLM_FILES or not path.is_file():
            continue
        h.update(path.relative_to(tree).as_posix().encode() + b"\0" + path.read_bytes())
    for key in sorted(os.environ):
        if key.startswith(SPEECH_ENV_PREFIXES):
            h.update(f"{key}={os.environ[key]}".encode())
    h.update(b"participants" if participants else b"")
    return h.hexdigest()[:16]


def run_pipeline(
    label: str, tree: Path, meetings: list[str], audio: dict[str, Path], cache: Path | None, participants: bool
) -> list[dict[str, Any]]:
    digest = speech_digest(tree, participants)
    jobs = []
    for name in meetings:
        gold = json.loads((GOLD / f"{name}.gold.json").read_text())
        wav = audio[name]
        speech = None
        if cache is not None:
            key = hashlib.sha256(wav.read_bytes()).hexdigest()[:16]
            speech = cache / "speech" / f"{name}-{key}-{digest}.json"
        jobs.append(
            {
                "name": name,
                "wav": str(wav),
                "speech_cache": str(speech) if speech else None,
                "participants": list(gold["speakers"].values()) if participants else None,
            }
        )
    with tempfile.TemporaryDirectory(prefix="analysis-bench-") as tmp:
        jobs_file, out_file = Path(tmp) / "jobs.json", Path(tmp) / "out.json"
        jobs_file.write_text(json.dumps(jobs))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]).rstrip(":")}
        # Every tree reads the same model files and numba cache: the checkout's data folder (unless
        # DATA_DIR says otherwise), not a fresh one per worktree that would assemble the models again.
        env.setdefault("DATA_DIR", str(REPO / "data"))
        print(f"==> {label}: running the pipeline of {tree} on {len(meetings)} meetings", file=sys.stderr, flush=True)
        began = time.perf_counter()
        proc = subprocess.run([sys.executable, str(DRIVER), str(jobs_file), str(out_file)], cwd=tree, env=env)
        print(f"==> {label}: {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
        if not out_file.is_file():
            raise SystemExit(f"{label}: the pipeline driver failed (exit {proc.returncode}) before any result")
        runs = json.loads(out_file.read_text())
    header, runs = runs[0], runs[1:]
    ran = Path(header["reflector"])
    if ran != (tree / "reflector").resolve():
        raise SystemExit(f"{label}: the driver imported {ran}, not {tree}/reflector (an editable install shadowed it?)")
    return runs


def score_runs(runs: list[dict[str, Any]], stm: dict[str, Path]) -> list[dict[str, Any]]:
    rows = []
    for run in runs:
        name = run["name"]
        gold = json.loads((GOLD / f"{name}.gold.json").read_text())
        if "error" in run:
            rows.append({"name": name, "held_out": bool(gold.get("held_out")), "error": run["error"]})
            continue
        given = list(gold["speakers"].values()) if run["participants_passed"] else []
        score = scoring.score_meeting(name, gold, scoring.read_stm(stm[name].read_text()), run["result"], given)
        seconds = run["seconds"]
        rows.append(
            {
                **score.as_dict(),
                "duration": run["duration"],
                "seconds": seconds,
                "llm_seconds": round(seconds.get("topics", 0) + seconds.get("summarize", 0), 2),
                "speech_cached": run["speech_cached"],
                "participants_passed": run["participants_passed"],
                "result": run["result"],
            }
        )
    return rows


def _scores(rows: list[dict[str, Any]]) -> list[scoring.MeetingScore]:
    fields = scoring.MeetingScore.__dataclass_fields__
    return [scoring.MeetingScore(**{k: v for k, v in r.items() if k in fields}) for r in rows if "error" not in r]


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


COLUMNS = [
    ("meeting", 20),
    ("min", 5),
    ("items P", 7),
    ("items R", 7),
    ("owner", 6),
    ("due", 5),
    ("dec P", 6),
    ("dec R", 6),
    ("dec F1", 6),
    ("topics", 7),
    ("Pk", 5),
    ("WD", 5),
    ("ground", 6),
    ("invent", 6),
    ("LLM s", 6),
]


def _line(cells: list[str]) -> str:
    return "  ".join(
        cell.rjust(width) if i else cell.ljust(width)
        for i, (cell, (_, width)) in enumerate(zip(cells, COLUMNS, strict=False))
    )


def _invented(row: dict[str, Any]) -> str:
    if row.get("invented_decisions") is None and row.get("invented_items") is None:
        return ""
    return str((row.get("invented_decisions") or 0) + (row.get("invented_items") or 0))


def _total_line(label: str, t: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    minutes = sum(r.get("duration", 0) for r in rows) / 60
    llm = sum(r.get("llm_seconds", 0) for r in rows)
    return _line(
        [
            label,
            _fmt(minutes, 1),
            _fmt(t["item_precision"]),
            _fmt(t["item_recall"]),
            _fmt(t["owner_accuracy"]),
            _fmt(t["due_accuracy"]),
            _fmt(t["decision_precision"]),
            _fmt(t["decision_recall"]),
            _fmt(t["decision_f1"]),
            f"{t['topic_count_within_1']}/{t['meetings']}",
            _fmt(t["pk"]),
            _fmt(t["window_diff"]),
            _fmt(t["groundedness"]),
            f"{t['invented']}",
            _fmt(llm, 0),
        ]
    )


TARGET_LINE = _line(
    ["target", "", ">=0.80", ">=0.80", ">=0.85", "", "", "", ">=0.70", "±1 all", "<=0.30", "", ">=0.95", "0", ""]
)


def table(label: str, rows: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    lines = [f"### {label}", _line([c for c, _ in COLUMNS]), _line(["-" * w for _, w in COLUMNS])]
    for row in rows:
        name = row["name"] + (" *" if row.get("held_out") else "")
        if "error" in row:
            lines.append(_line([name, "failed: " + row["error"].strip().splitlines()[-1][:100]]))
            continue
        lines.append(
            _line(
                [
                    name,
                    _fmt(row["duration"] / 60, 1),
                    _fmt(row["item_precision"]),
                    _fmt(row["item_recall"]),
                    _fmt(row["owner_accuracy"]),
                    _fmt(row["due_accuracy"]),
                    _fmt(row["decision_precision"]),
                    _fmt(row["decision_recall"]),
                    _fmt(row["decision_f1"]),
                    f"{row['predicted_topics']}/{row['gold_topics']}",
                    _fmt(row["pk"]),
                    _fmt(row["window_diff"]),
                    _fmt(row["groundedness"]),
                    _invented(row),
                    _fmt(row["llm_seconds"], 0),
                ]
            )
        )
    lines.append(_line(["-" * w for _, w in COLUMNS]))
    summary: dict[str, Any] = {}
    for part, held in (("tuning", False), ("held-out", True)):
        part_rows = [r for r in rows if bool(r.get("held_out")) == held and "error" not in r]
        if part_rows:
            t = scoring.totals(_scores(part_rows))
            summary[part] = t
            lines.append(_total_line(f"total {part}", t, part_rows))
    lines.append(TARGET_LINE)
    for row in rows:
        if row.get("ungrounded"):
            lines.append(f"ungrounded in {row['name']}: {', '.join(row['ungrounded'])}")
    return "\n".join(lines), summary


def comparison(summaries: dict[str, dict[str, Any]]) -> str:
    metrics = [
        "item_precision",
        "item_recall",
        "owner_accuracy",
        "due_accuracy",
        "decision_f1",
        "pk",
        "window_diff",
        "topic_count_within_1",
        "groundedness",
        "invented",
    ]
    labels = list(summaries)
    lines = [
        "### comparison (tuning | held-out)",
        "metric".ljust(22) + "".join(lb.rjust(26) for lb in labels) + "   target",
    ]
    for metric in metrics:
        cells = []
        for label in labels:
            parts = [_fmt(summaries[label].get(p, {}).get(metric)) for p in ("tuning", "held-out")]
            cells.append(" | ".join(parts).rjust(26))
        op, target = scoring.TARGETS.get(metric, ("", None))
        lines.append(metric.ljust(22) + "".join(cells) + (f"   {op} {target}" if target is not None else ""))
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


class Worktree:
    """A git ref checked out in a temporary folder, removed afterwards."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        self.commit = git("rev-parse", "--verify", f"{ref}^{{commit}}")
        self._tmp = tempfile.TemporaryDirectory(prefix="analysis-ref-")
        self.path = Path(self._tmp.name) / "tree"

    def __enter__(self) -> Path:
        git("worktree", "add", "--detach", str(self.path), self.commit)
        return self.path

    def __exit__(self, *_: Any) -> None:
        subprocess.run(["git", "worktree", "remove", "--force", str(self.path)], cwd=REPO, capture_output=True)
        self._tmp.cleanup()


def print_report(report: dict[str, Any], outputs: list[str], summaries: dict[str, Any], out: Path | None) -> None:
    print(f"CPU: {report['cpu']} ({report['cores']} cores)")
    print("* held out; invent: decisions and items reported on meetings whose gold has none")
    for text in outputs:
        print()
        print(text)
    if len(summaries) > 1:
        print()
        print(comparison(summaries))
    if out:
        out.write_text(json.dumps(report, indent=1))
        print(f"\nwrote {out}")


def rescore(saved: Path, cache: Path, out: Path | None) -> int:
    """Score the pipelines' results kept in an earlier report with today's scorer and gold."""
    report = json.loads(saved.read_text())
    with tempfile.TemporaryDirectory(prefix="analysis-audio-") as tmp:
        home = cache if cache.is_dir() else Path(tmp)
        outputs, summaries = [], {}
        for label, pipeline in report["pipelines"].items():
            runs = [
                {"name": r["name"], "error": r["error"]}
                if "error" in r
                else {
                    k: r[k] for k in ("name", "result", "seconds", "duration", "speech_cached", "participants_passed")
                }
                for r in pipeline["meetings"]
            ]
            stm = {r["name"]: synthesize(r["name"], home)[1] for r in runs}
            rows = score_runs(runs, stm)
            text, summary = table(f"{label} ({pipeline['commit']})", rows)
            outputs.append(text)
            summaries[label] = summary
            pipeline.update(meetings=rows, totals=summary)
    print_report(report, outputs, summaries, out)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="git ref of the pipeline to compare against, run first")
    parser.add_argument("--ref", help="run this git ref instead of the working tree")
    parser.add_argument("--meetings", help="comma-separated meeting names (default: all)")
    parser.add_argument("--json", type=Path, help="write every score, result and timing here")
    parser.add_argument("--participants", action="store_true", help="give the pipeline each meeting's speaker names")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "reflector" / "analysis-bench")
    parser.add_argument("--no-cache", action="store_true", help="run the speech half again, keep nothing")
    parser.add_argument("--rescore", type=Path, help="score the results of an earlier --json again, run nothing")
    args = parser.parse_args()
    # Stopped with SIGTERM, unwind: the driver subprocess is killed and the worktree removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.rescore:
        return rescore(args.rescore, args.cache, args.json)

    if not MAKE_MEETING.is_file():
        raise SystemExit(f"{MAKE_MEETING} not found: the bench needs ../shared/tools/make_meeting.py")
    meetings = gold_set(args.meetings.split(",") if args.meetings else None)
    with tempfile.TemporaryDirectory(prefix="analysis-audio-") as tmp:
        cache = None if args.no_cache else args.cache
        audio_home = cache or Path(tmp)
        made = {name: synthesize(name, audio_home) for name in meetings}
        audio = {name: wav for name, (wav, _) in made.items()}
        stm = {name: s for name, (_, s) in made.items()}

        pipelines: list[tuple[str, str | None]] = []
        if args.baseline:
            pipelines.append((f"baseline {args.baseline}", args.baseline))
        pipelines.append((f"ref {args.ref}" if args.ref else "working tree", args.ref))
        report: dict[str, Any] = {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "head": git("rev-parse", "HEAD"),
            "meetings": meetings,
            "pipelines": {},
        }
        outputs, summaries = [], {}
        for label, ref in pipelines:
            if ref is None:
                runs = run_pipeline(label, REPO, meetings, audio, cache, args.participants)
                commit = git("rev-parse", "HEAD") + (" + uncommitted changes" if git("status", "--porcelain") else "")
            else:
                worktree = Worktree(ref)
                with worktree as tree:
                    runs = run_pipeline(label, tree, meetings, audio, cache, args.participants)
                commit = worktree.commit
            rows = score_runs(runs, stm)
            text, summary = table(f"{label} ({commit})", rows)
            outputs.append(text)
            summaries[label] = summary
            report["pipelines"][label] = {"commit": commit, "meetings": rows, "totals": summary}

    print_report(report, outputs, summaries, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
