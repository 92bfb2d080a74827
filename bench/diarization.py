"""Diarization quality and cost, before and after global speaker identity, in one run.

    .venv/bin/python bench/diarization.py [--repeat 6] [--mode both|before|after] [--skip-short]

Cases: the seven AMI excerpts (DER on the scored 30 s, no collar and a 0.25 s collar each side,
speaker count in the scored region against the reference), the synthetic meetings (DER, count),
and a long recording made of one 10-minute mix of the shared recordings repeated `--repeat` times
(speaker count against the mix alone, share of the first copy's turns, and of their time, whose label
each later copy keeps, wall seconds per audio hour, peak RSS while diarizing). The default, an hour,
runs in ~6 minutes on 2 cores and already shows senko's split (14 speakers for 12); the issue's
3-hour case is `--repeat 18`. "before" is senko's own diarize_samples as the wrapper called it
until issue 21 (UMAP + HDBSCAN past 20 minutes); "after" is SenkoDiarizer.diarize. Each mode runs in
its own process so peak RSS is its own; the table prints both side by side.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pyannote.core import Segment as Span  # noqa: E402
from pyannote.core import Timeline  # noqa: E402
from pyannote.metrics.diarization import DiarizationErrorRate  # noqa: E402

from reflector.pipelines import audio  # noqa: E402
from reflector.pipelines.diarize import SenkoDiarizer, renumber  # noqa: E402
from reflector.pipelines.types import SpeakerTurn, no_progress  # noqa: E402
from tests.integration.test_asr_models import as_annotation, read_rttm  # noqa: E402
from tests.paths import AMI, REAL, SYNTHETIC  # noqa: E402

MIX = [
    SYNTHETIC / "standup.wav",
    REAL / "two_speakers_sample.wav",
    SYNTHETIC / "budget.wav",
    REAL / "physicsworks.wav",
    *sorted(AMI.glob("*.wav")),
    REAL / "hello_48k_stereo.wav",
]


def before(diarizer: SenkoDiarizer, samples: np.ndarray, num_speakers: int | None) -> list[SpeakerTurn]:
    """The wrapper as it was: senko end to end, a known count only reaching its spectral path."""
    senko = diarizer._diarizer
    senko.spectral_cluster.cluster.k = num_speakers
    try:
        result = senko.diarize_samples(np.clip(samples, -1.0, 1.0).astype(np.float32), sample_rate=audio.SAMPLE_RATE)
    finally:
        senko.spectral_cluster.cluster.k = None
    if not result:
        return []
    return renumber((s["start"], s["end"], s["speaker"]) for s in result["merged_segments"])


def after(diarizer: SenkoDiarizer, samples: np.ndarray, num_speakers: int | None) -> list[SpeakerTurn]:
    return diarizer.diarize(samples, num_speakers=num_speakers, progress=no_progress)


class PeakRss:
    """Peak resident memory of this process while the block runs, sampled every 20 ms."""

    def __enter__(self) -> "PeakRss":
        self.peak, self._done = psutil.Process().memory_info().rss, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._done.wait(0.02):
            self.peak = max(self.peak, process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def speakers_in(turns: list[SpeakerTurn], start: float, end: float) -> set[int]:
    return {t.speaker for t in turns if t.end > start and t.start < end}


def label_at(turns: list[SpeakerTurn], start: float, end: float) -> int | None:
    """The label covering most of [start, end)."""
    cover = Counter({t.speaker: 0.0 for t in turns})
    for t in turns:
        cover[t.speaker] += max(0.0, min(end, t.end) - max(start, t.start))
    best = cover.most_common(1)
    return best[0][0] if best and best[0][1] > 0 else None


def short_cases(run, diarizer: SenkoDiarizer) -> dict:
    figures = {}
    uem = {line.split()[0]: (float(line.split()[2]), float(line.split()[3])) for line in (AMI / "reference.uem").open()}
    for path in [*sorted(AMI.glob("*.wav")), SYNTHETIC / "standup.wav", SYNTHETIC / "budget.wav"]:
        samples = audio.decode(path)
        turns = run(diarizer, samples, None)
        rttm = AMI / "reference.rttm" if path.parent == AMI else path.with_suffix(".rttm")
        reference = read_rttm(rttm, path.stem)
        region = uem.get(path.stem, (0.0, audio.duration_of(samples)))
        scored = Timeline([Span(*region)])
        hypothesis = as_annotation(turns, path.stem)
        plain = DiarizationErrorRate()(reference, hypothesis, uem=scored, detailed=True)
        # pyannote's collar is the total width removed around each reference boundary: 0.25 s each side
        collar = DiarizationErrorRate(collar=0.5)(reference, hypothesis, uem=scored, detailed=True)
        figures[path.stem] = {
            "der": plain["diarization error rate"],
            "der_collar": collar["diarization error rate"],
            "error": plain["diarization error rate"] * plain["total"],
            "error_collar": collar["diarization error rate"] * collar["total"],
            "total": plain["total"],
            "total_collar": collar["total"],
            "speakers": len(speakers_in(turns, *region)),
            "reference": len(reference.crop(scored).labels()),
        }
    return figures


def long_case(run, diarizer: SenkoDiarizer, repeat: int) -> dict:
    mix = np.concatenate([audio.decode(path) for path in MIX])
    started = time.perf_counter()
    single = run(diarizer, mix, None)
    single_seconds = time.perf_counter() - started
    copy = audio.duration_of(mix)
    samples = np.tile(mix, repeat)
    del mix
    with PeakRss() as rss:
        rss_before = rss.peak
        started = time.perf_counter()
        turns = run(diarizer, samples, None)
        seconds = time.perf_counter() - started
    first = [t for t in turns if t.end <= copy]
    shifted = [(t, k * copy) for t in first for k in range(1, repeat)]
    kept = [label_at(turns, t.start + shift, t.end + shift) == t.speaker for t, shift in shifted]
    seconds_of = [t.end - t.start for t, _ in shifted]
    return {
        "audio_s": audio.duration_of(samples),
        "speakers_single": len({t.speaker for t in single}),
        "speakers_long": len({t.speaker for t in turns}),
        "kept": sum(kept) / max(1, len(kept)),
        "kept_time": float(np.dot(kept, seconds_of)) / max(1e-9, sum(seconds_of)),
        "wall_s": seconds,
        "s_per_audio_h": seconds / audio.duration_of(samples) * 3600,
        "single_s_per_audio_h": single_seconds / copy * 3600,
        "rss_mb_before": rss_before / 2**20,
        "rss_mb_peak": rss.peak / 2**20,
    }


def measure(mode: str, repeat: int, skip_short: bool) -> dict:
    run = before if mode == "before" else after
    diarizer = SenkoDiarizer(Path(tempfile.gettempdir()) / "reflector-test-numba")
    figures = {} if skip_short else {"short": short_cases(run, diarizer)}
    if repeat:
        figures["long"] = long_case(run, diarizer, repeat)
    return figures


def pooled(files: list[dict], kind: str) -> float:
    """DER over several files: their errors over their reference speech, as pyannote's abs(metric)."""
    return sum(f["error" + kind] for f in files) / sum(f["total" + kind] for f in files)


def report(results: dict[str, dict]) -> None:
    modes = list(results)
    short = {m: r["short"] for m, r in results.items() if "short" in r}
    if short:
        print("file      " + "".join(f"| {m}: DER / DER c0.25 / speakers (ref) ".ljust(40) for m in short))
        for name in next(iter(short.values())):
            cells = [
                f"| {f['der']:6.1%} / {f['der_collar']:6.1%} / {f['speakers']} ({f['reference']})".ljust(40)
                for f in (short[m][name] for m in short)
            ]
            print(f"{name:10}" + "".join(cells))
        for m, files in short.items():
            ami = [f for n, f in files.items() if n.startswith(("dev", "trn"))]
            right = sum(f["speakers"] == f["reference"] for f in ami)
            print(
                f"{m}: AMI DER (pooled over the excerpts) {pooled(ami, ''):.1%}, "
                f"collar 0.25 {pooled(ami, '_collar'):.1%}, count right on {right} of {len(ami)}"
            )
    for m in modes:
        if "long" in results[m]:
            f = results[m]["long"]
            print(
                f"{m}: long {f['audio_s'] / 60:.0f} min: {f['speakers_long']} speakers (single copy "
                f"{f['speakers_single']}), {f['kept']:.1%} of repeated turns ({f['kept_time']:.1%} of their time) "
                "keep their label, "
                f"{f['wall_s']:.0f} s ({f['s_per_audio_h']:.0f} s per audio hour; "
                f"{f['single_s_per_audio_h']:.0f} for the single copy), "
                f"RSS {f['rss_mb_before']:.0f} MB before, {f['rss_mb_peak']:.0f} MB peak"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["both", "before", "after"], default="both")
    parser.add_argument("--repeat", type=int, default=6, help="copies of the 10-minute mix; 0 skips the long case")
    parser.add_argument("--skip-short", action="store_true", help="only the long case")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # a child process's answer
    args = parser.parse_args()
    if args.mode != "both":
        figures = measure(args.mode, args.repeat, args.skip_short)
        if args.json:
            print(json.dumps(figures))
        else:
            report({args.mode: figures})
        return
    results = {}
    for mode in ("before", "after"):
        command = [sys.executable, __file__, "--mode", mode, "--repeat", str(args.repeat), "--json"]
        output = subprocess.run(command + (["--skip-short"] if args.skip_short else []), capture_output=True, text=True)
        if output.returncode:
            sys.exit(output.stderr)
        results[mode] = json.loads(output.stdout.strip().splitlines()[-1])
    report(results)


if __name__ == "__main__":
    main()
