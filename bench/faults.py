"""The fault suite that does not fit in CI time: real PostgreSQL, Redis, worker processes and models.

    .venv/bin/python bench/faults.py [--kills 20] [--seed 1] [--file F] [--only R1,R5]

R1  SIGKILL the worker at --kills random moments spread over every step (decode, transcribe, diarize,
    assemble, topics, summarize), a new worker started at once as `reflector run` does: every transcript
    must end `ended` with the same words and speakers as an undisturbed run, no duplicated topic,
    participant or stored event.
R5  SIGTERM the worker in the middle of each step: the run must be handed back at once (target < 2 s,
    no wait for the stale-heartbeat timeout) and finished by the next worker.

Uses the PostgreSQL and Redis of the tests (TEST_ADMIN_DATABASE_URL, TEST_REDIS_URL) with a database
of its own. Prints one line per case, then a table of each figure against its target.
"""

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import asyncpg
import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reflector.bootstrap import Services, start_services, stop_services  # noqa: E402
from reflector.domain.transcripts.service import meeting_result  # noqa: E402
from reflector.migrate import migrate  # noqa: E402
from reflector.pipelines.meeting import STEPS, PipelineOptions  # noqa: E402
from reflector.settings import Settings, load_settings  # noqa: E402
from tests.conftest import ADMIN_URL  # noqa: E402
from tests.integration.workers import WorkerProcess, submit, wait_for_status  # noqa: E402

DATA = REPO.parent / "shared" / "data"
REDIS_URL = "redis://127.0.0.1:6379/14"
ONCE = ("DURATION", "WAVEFORM", "FINAL_TITLE", "FINAL_SHORT_SUMMARY", "FINAL_LONG_SUMMARY", "ACTION_ITEMS")


async def _settings(data_dir: Path) -> Settings:
    name = "reflector_bench_faults"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    env = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "DATA_DIR": str(data_dir)}
    settings = load_settings(env, dotenv=Path("/nonexistent"))
    await migrate(settings)
    return settings


class Outcome(msgspec.Struct):
    status: str
    words: list[tuple[str, float, float, int]]
    problems: list[str]


async def _outcome(services: Services, transcript_id: str) -> Outcome:
    transcript = await services.transcripts.get(transcript_id)
    result = await meeting_result(services.transcripts, transcript_id)
    words = [(w.text, w.start, w.end, w.speaker) for w in result.words]
    problems = []
    if len(words) != len(set(words)):
        problems.append("duplicated words")
    topics = await services.transcripts.topics(transcript_id)
    if [t.position for t in topics] != list(range(len(topics))):
        problems.append("duplicated topics")
    speakers = [p.speaker for p in await services.transcripts.participants(transcript_id)]
    if len(speakers) != len(set(speakers)):
        problems.append("duplicated participants")
    kinds = Counter(event for event, _ in await services.transcripts.events(transcript_id))
    problems += [f"{kinds[k]} {k} events" for k in ONCE if kinds[k] != 1]
    if kinds["TOPIC"] != len(topics):
        problems.append(f"{kinds['TOPIC']} TOPIC events for {len(topics)} topics")
    return Outcome(transcript.status, words, problems)


async def _step_running(services: Services, transcript_id: str, step: str, within_s: float = 300) -> bool:
    """Wait until `step` runs (True) or is already past (False)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        run = await services.runs.latest(transcript_id)
        if run is not None and step in run.timings:
            return False
        if run is None or run.status != "running":
            pass
        elif run.step == step or (step in ("transcribe", "diarize") and "decode" in run.timings):
            return True  # transcription and diarization run together once decoding is done
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{step} never ran")


async def r1(services: Services, settings: Settings, log: Path, source: Path, kills: int, seed: int) -> list[str]:
    options = PipelineOptions()
    worker = WorkerProcess(settings, log).start()
    transcript_id = await submit(services, source, options, name="undisturbed")
    assert (await wait_for_status(services, transcript_id)).status == "ended"
    reference = await _outcome(services, transcript_id)
    run = await services.runs.latest(transcript_id)
    assert run is not None
    timings = run.timings
    seconds = {k: round(v, 1) for k, v in timings.items()}
    print(f"R1 undisturbed: {len(reference.words)} words; step seconds {seconds}")

    rng = random.Random(seed)
    ended = same = clean_ = hits = 0
    for i in range(kills):
        step = STEPS[i % len(STEPS)]
        transcript_id = await submit(services, source, options, name=f"kill {i}")
        running = await _step_running(services, transcript_id, step)
        await asyncio.sleep(rng.random() * timings.get(step, 1.0) * 0.9 if running else 0)
        run = await services.runs.latest(transcript_id)
        hit = run is not None and run.status == "running" and step not in run.timings
        worker.kill()
        worker = WorkerProcess(settings, log).start()  # as `reflector run` restarts it
        await wait_for_status(services, transcript_id)
        outcome = await _outcome(services, transcript_id)
        ended += outcome.status == "ended"
        same += outcome.words == reference.words
        clean_ += not outcome.problems
        hits += hit
        print(
            f"R1 kill {i + 1:>2} in {step:<10} ({'mid-step' if hit else 'between steps'}): {outcome.status}, "
            f"{'same words' if outcome.words == reference.words else 'OTHER WORDS'}"
            f"{', ' + '; '.join(outcome.problems) if outcome.problems else ''}"
        )
    worker.stop()
    return [
        f"R1 | SIGKILL at {kills} moments ({hits} mid-step) | {ended}/{kills} ended, {same}/{kills} same words, "
        f"{clean_}/{kills} without duplicates | {kills}/{kills} each",
    ]


async def r5(services: Services, settings: Settings, log: Path, source: Path) -> list[str]:
    rows = []
    for step in ("transcribe", "diarize", "topics", "summarize"):
        worker = WorkerProcess(settings, log).start()
        transcript_id = await submit(services, source, PipelineOptions(), name=f"sigterm {step}")
        await _step_running(services, transcript_id, step)
        await asyncio.sleep(0.5)
        assert worker.process is not None
        worker.process.terminate()
        signalled = time.monotonic()
        while (run := await services.runs.latest(transcript_id)) is not None and run.status == "running":
            if time.monotonic() - signalled > 60:
                break
            await asyncio.sleep(0.02)
        handed = time.monotonic() - signalled
        worker.stop()
        worker = WorkerProcess(settings, log).start()
        await wait_for_status(services, transcript_id)
        outcome = await _outcome(services, transcript_id)
        worker.stop()
        print(f"R5 SIGTERM in {step:<10}: handed back after {handed:.2f} s; {outcome.status} {outcome.problems}")
        rows.append(f"R5 | SIGTERM in {step} | handed back in {handed:.2f} s, {outcome.status} | < 2 s, ended")
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--file", type=Path, default=DATA / "synthetic" / "standup.wav")
    parser.add_argument("--only", default="R1,R5")
    args = parser.parse_args()
    chosen = {name.strip().upper() for name in args.only.split(",")}

    with tempfile.TemporaryDirectory(prefix="reflector-faults-") as tmp:
        settings = await _settings(Path(tmp) / "data")
        services = await start_services(settings)
        await services.redis.flushdb()
        log = Path(tmp) / "worker.log"
        rows: list[str] = []
        try:
            if "R1" in chosen:
                rows += await r1(services, settings, log, args.file, args.kills, args.seed)
            if "R5" in chosen:
                rows += await r5(services, settings, log, args.file)
        finally:
            await stop_services(services)
    print("\ncase | fault | result | target")
    for row in rows:
        print(row)


if __name__ == "__main__":
    asyncio.run(main())
