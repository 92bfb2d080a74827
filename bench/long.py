"""A 3-hour recording end to end (issue 13): wall time per step and peak memory of each stage.

    .venv/bin/python bench/long.py [--hours 3] [--keep /tmp/long.wav] [--no-summary]

Builds the recording by concatenating `../shared/data` recordings over and over (streamed: one source
file decoded at a time, written as 16 kHz mono 16-bit WAV), runs `reflector process` on it with
summaries, and samples the resident memory of its process tree every 0.2 s. The speech stage (decode,
transcribe, diarize, assemble) ends when the process logs assemble's `step.finished`; the LLM stage
(topics, summaries) is everything after. Prints one table of figures against the targets.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
# Speech of every kind the data holds: a lecture, phone calls, AMI meetings, synthetic stand-ups.
SOURCES = [
    "real/physicsworks.wav",
    "real/two_speakers_sample.wav",
    *(f"ami-excerpts/{name}.wav" for name in ("dev00", "dev01", "trn01", "trn02", "trn03", "trn04", "trn05")),
    "synthetic/standup.wav",
    "synthetic/budget.wav",
    "real/multilingual.mp3",
    "real/hello_48k_stereo.wav",
]
RATE = 16000
TARGETS_GB = {"speech": 1.5, "llm": 2.5}


def build_recording(dest: Path, hours: float) -> float:
    """Write `hours` of speech to `dest`, one source decoded at a time; returns its length in seconds."""
    wanted = int(hours * 3600 * RATE)
    written = 0
    with wave.open(str(dest), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        while written < wanted:
            for name in SOURCES:
                if written >= wanted:
                    break
                with av.open(str(DATA / name)) as container:
                    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
                    for frame in container.decode(audio=0):
                        for block in resampler.resample(frame):
                            samples = block.to_ndarray()[0][: wanted - written]
                            out.writeframes(samples.astype(np.int16).tobytes())
                            written += len(samples)
    return written / RATE


def _tree_rss_kb(root: int) -> int:
    """Resident memory of `root` and its descendants, in kB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry)
        children.setdefault(int(fields["PPid"]), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


class Sampler(threading.Thread):
    """Peak resident memory of a process tree per stage, the stage switched by `stage`."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.stage = "speech"
        self.peaks_kb: dict[str, int] = {"speech": 0, "llm": 0}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            kb = _tree_rss_kb(self.pid)
            self.peaks_kb[self.stage] = max(self.peaks_kb[self.stage], kb)


def _event(line: str) -> dict[str, object]:
    try:
        event = json.loads(line)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


def run_process(recording: Path, summary: bool, log_path: Path) -> tuple[dict[str, float], dict[str, float], int]:
    """`reflector process` on the recording: seconds per step, seconds and peak GB per stage, exit code."""
    command = [sys.executable, "-m", "reflector", "process", str(recording), "--format", "json", "--out", "/dev/null"]
    if not summary:
        command.append("--no-summary")
    env = {**os.environ, "LOG_LEVEL": "info", "LOG_FORMAT": "json"}
    began = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    sampler = Sampler(process.pid)
    sampler.start()
    steps: dict[str, float] = {}
    stages = {"speech": 0.0, "llm": 0.0}
    assert process.stderr is not None
    with log_path.open("w") as log:
        for line in process.stderr:
            log.write(line)
            log.flush()
            event = _event(line)
            if event.get("event") == "step.finished":
                step, seconds = str(event["step"]), float(event["seconds"])
                steps[step] = seconds
                now_gb = _tree_rss_kb(process.pid) * 1024 / 1e9
                print(f"  {step} finished in {seconds:.0f} s, {now_gb:.2f} GB now", flush=True)
                if step == "assemble":
                    stages["speech"] = time.monotonic() - began
                    sampler.stage = "llm"
    code = process.wait()
    sampler.done.set()
    sampler.join()
    stages["llm"] = time.monotonic() - began - stages["speech"]
    peaks = {f"{stage}_gb": kb * 1024 / 1e9 for stage, kb in sampler.peaks_kb.items()}
    return steps, {**{f"{k}_s": v for k, v in stages.items()}, **peaks}, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--keep", type=Path, help="where to write (or reuse) the recording")
    parser.add_argument("--no-summary", action="store_true", help="the speech stage only")
    parser.add_argument("--log", type=Path, default=Path(tempfile.gettempdir()) / "reflector-long.log")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="reflector-long-") as tmp:
        recording = args.keep or Path(tmp) / "long.wav"
        if not recording.exists():
            began = time.monotonic()
            seconds = build_recording(recording, args.hours)
            print(f"built {recording}: {seconds / 3600:.2f} h in {time.monotonic() - began:.0f} s", flush=True)
        steps, stages, code = run_process(recording, not args.no_summary, args.log)
    print(f"\nreflector process exited {code}; its log: {args.log}")
    print("step | wall s")
    for step, seconds in steps.items():
        print(f"{step} | {seconds:.0f}")
    print("\nstage | wall s | peak RSS (process tree) | target")
    for stage in ("speech", "llm"):
        gb = stages[f"{stage}_gb"]
        print(f"{stage} | {stages[f'{stage}_s']:.0f} | {gb:.2f} GB | ≤ {TARGETS_GB[stage]} GB")
    sys.exit(code)


if __name__ == "__main__":
    main()
