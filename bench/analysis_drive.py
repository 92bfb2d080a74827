"""Runs the file pipeline of whichever Reflector tree is first on PYTHONPATH over a list of recordings.

    PYTHONPATH=TREE .venv/bin/python bench/analysis_drive.py JOBS.json OUT.json

Started by `bench/analysis.py` once per pipeline it compares (the working tree, or a git ref checked out
in a temporary worktree), so it uses only what every version of the pipeline has: MeetingPipeline with
ModelRegistry, MemoryCheckpoints and build_result. JOBS.json is a list of {name, wav, speech_cache,
participants}; for each, the speech steps' checkpoints are read from `speech_cache` when that file exists
(so two pipelines with the same speech code analyse the same words) and written there otherwise. OUT.json
gets, per meeting, the `reflector process --format json` result, the seconds of each step that ran, and
an error instead when the run failed.
"""

import asyncio
import base64
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import msgspec

from reflector.model_registry import ModelRegistry
from reflector.pipelines.meeting import STEPS, MeetingPipeline, MemoryCheckpoints, PipelineOptions, build_result
from reflector.settings import load_settings

SPEECH_STEPS = ("decode", "transcribe", "diarize", "assemble")


class StepTimes:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    async def started(self, step: str) -> None:
        pass

    def progress(self, step: str, fraction: float) -> None:
        pass

    async def finished(self, step: str, seconds: float, output: Any) -> None:
        self.seconds[step] = round(seconds, 3)

    async def restored(self, step: str, output: Any) -> None:
        pass


def _options(participants: list[str] | None) -> tuple[PipelineOptions, bool]:
    """The pipeline's options; the participants go in only where this version has the field."""
    fields = getattr(PipelineOptions, "__struct_fields__", ())
    if participants and "participants" in fields:
        return PipelineOptions(participants=participants), True  # type: ignore[call-arg]
    return PipelineOptions(), False


def _named_speakers(words: list[Any], participants: list[str]) -> dict[int, str]:
    try:
        from reflector.pipelines.speaker_naming import infer_speaker_names
    except ImportError:  # a version from before speakers were named by the meeting
        return {}
    return {n.speaker: n.name for n in infer_speaker_names(words, participants)}


def run_one(models: ModelRegistry, job: dict[str, Any]) -> dict[str, Any]:
    cache = Path(job["speech_cache"]) if job.get("speech_cache") else None
    checkpoints = MemoryCheckpoints()
    cached = False
    if cache is not None and cache.is_file():
        saved = json.loads(cache.read_text())
        for step in SPEECH_STEPS:
            asyncio.run(checkpoints.save(step, base64.b64decode(saved[step])))
        cached = True
    options, with_participants = _options(job.get("participants"))
    times = StepTimes()
    began = time.perf_counter()
    # As a worker's run: the speech steps, the speakers the meeting names (where this version can), then
    # the analysis with those names.
    outputs = asyncio.run(MeetingPipeline(models, options, checkpoints, times).run(Path(job["wav"]), SPEECH_STEPS))
    names = _named_speakers(outputs.words or [], list(getattr(options, "participants", ())))
    analysis = MeetingPipeline(models, options, checkpoints, times, speaker_names=names)
    outputs = asyncio.run(analysis.run(None, [s for s in STEPS if s not in SPEECH_STEPS]))
    total = time.perf_counter() - began
    if cache is not None and not cached:
        saved = {step: base64.b64encode(asyncio.run(checkpoints.load(step)) or b"").decode() for step in SPEECH_STEPS}
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(saved))
    result = msgspec.to_builtins(build_result(outputs, "en", names))
    return {
        "name": job["name"],
        "result": result,
        "seconds": times.seconds,
        "total_seconds": round(total, 3),
        "duration": outputs.duration,
        "speech_cached": cached,
        "participants_passed": with_participants,
    }


def main() -> int:
    jobs = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    models = ModelRegistry(load_settings())
    import reflector

    # The first record says which tree ran: an editable install must not have shadowed PYTHONPATH.
    results: list[dict[str, Any]] = [{"name": "_tree", "reflector": str(Path(reflector.__file__).resolve().parent)}]
    for job in jobs:
        print(f"[drive] {job['name']} ...", file=sys.stderr, flush=True)
        try:
            results.append(run_one(models, job))
        except Exception:  # one meeting's failure is reported beside the others' scores
            results.append({"name": job["name"], "error": traceback.format_exc()})
        out.write_text(json.dumps(results))
        last = results[-1]
        print(f"[drive] {job['name']}: {last.get('seconds') or last.get('error')}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
