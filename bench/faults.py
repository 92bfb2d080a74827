"""The fault suite that does not fit in CI time: real PostgreSQL, Redis, worker processes and models.

    .venv/bin/python bench/faults.py [--kills 20] [--seed 1] [--file F] [--only R1,R5]

R1  SIGKILL the worker at --kills random moments spread over every step (decode, transcribe, diarize,
    assemble, topics, summarize), a new worker started at once as `reflector run` does: every transcript
    must end `ended` with the same words and speakers as an undisturbed run, no duplicated topic,
    participant or stored event.
R2  Malformed recordings (bench/bad_inputs.py) through `reflector process` and through the chunked upload
    API with a worker: each gives a one-sentence error or a transcript, as the case allows, never a
    traceback; chunks out of order, duplicated, missing or oversized, and a hostile file name; the worker
    still serves the next recording.
R5  SIGTERM the worker in the middle of each step: the run must be handed back at once (target < 2 s,
    no wait for the stale-heartbeat timeout) and finished by the next worker.
R6  --subscribers WebSocket subscribers (200) on --uploads transcripts (10) while their uploads run at
    once (jfk.flac, with summaries), each joining at a random moment of the first two minutes: every one
    must hear every stored event of its transcript once and in order; the web process (`reflector web`,
    its own process) has its resident memory read before, during and after.

Uses the PostgreSQL of the tests (TEST_ADMIN_DATABASE_URL) with a database of its own, and Redis database
14 (BENCH_REDIS_URL to choose another), which it empties. Prints one line per case, then a table of each
figure against its target.
"""

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import IO

import httpx
import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bad_inputs import CASES, Case, suffix_of  # noqa: E402
from scratch import fresh_database  # noqa: E402

from reflector.bootstrap import Services, start_services, stop_services  # noqa: E402
from reflector.domain.transcripts.service import meeting_result  # noqa: E402
from reflector.pipelines.meeting import STEPS, PipelineOptions  # noqa: E402
from reflector.settings import Settings  # noqa: E402
from reflector.web.app import create_app  # noqa: E402
from tests.conftest import ADMIN_URL  # noqa: E402
from tests.integration.subscribers import difference, hear_until_ended  # noqa: E402
from tests.integration.workers import WorkerProcess, submit, wait_for_status  # noqa: E402
from tests.net import free_port, serve, until_serving  # noqa: E402

DATA = REPO.parent / "shared" / "data"
# Its own Redis database: it is emptied at the start.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
ONCE = ("DURATION", "WAVEFORM", "FINAL_TITLE", "FINAL_SHORT_SUMMARY", "FINAL_LONG_SUMMARY", "ACTION_ITEMS")


async def _settings(data_dir: Path) -> Settings:
    # Uploads past 64 MB are refused here, so that an oversized chunk is cheap to send.
    env = {"REDIS_URL": REDIS_URL, "DATA_DIR": str(data_dir), "MAX_UPLOAD_BYTES": str(64 << 20)}
    return await fresh_database(ADMIN_URL, "reflector_bench_faults", env)


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


def _sentence(text: str) -> bool:
    """One line of words a person reads: no traceback, no exception class name (the API's details keep
    Reflector's wording, which ends without a full stop)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    named = any(word.endswith(("Error", "Exception", "Error:")) for word in text.split())
    return len(lines) == 1 and "Traceback" not in text and not named and len(lines[0].split()) >= 3


def _through_process(path: Path, data_dir: Path) -> tuple[str, str]:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "reflector", "process", str(path), "--no-summary", "--format", "txt"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, env=env, check=False)
    last = (done.stderr.strip().splitlines() or [""])[-1]
    if done.returncode == 0:
        return "ended", ""
    if done.returncode == 1 and last.startswith("reflector: ") and "Traceback" not in done.stderr:
        return "error", last.removeprefix("reflector: ")
    return f"exit {done.returncode}", done.stderr[-300:]


async def _upload(http: httpx.AsyncClient, transcript_id: str, chunks: list[tuple[int, bytes]], total: int,
                  filename: str = "recording.bin") -> httpx.Response:  # fmt: skip
    response = None
    for i, (number, data) in enumerate(chunks):
        response = await http.post(
            f"/v1/transcripts/{transcript_id}/record/upload",
            params={"chunk_number": number, "total_chunks": total},
            files={"chunk": (filename, data, "application/octet-stream")},
        )
        # The last-numbered chunk ahead of others is kept and answered "Missing chunks …": send the rest.
        ahead = response.status_code == 400 and "Missing chunks" in response.text and i < len(chunks) - 1
        if response.status_code >= 400 and not ahead:
            return response
    assert response is not None
    return response


async def _through_api(services: Services, http: httpx.AsyncClient, name: str, chunks: list[tuple[int, bytes]],
                       total: int, filename: str) -> tuple[str, str]:  # fmt: skip
    transcript_id = (await http.post("/v1/transcripts", json={"name": name})).json()["id"]
    response = await _upload(http, transcript_id, chunks, total, filename)
    if response.status_code >= 400:
        detail = response.json().get("detail", "")
        return ("refused" if _sentence(str(detail)) else f"HTTP {response.status_code}"), str(detail)
    transcript = await services.transcripts.get(transcript_id)
    if transcript.status == "idle":  # the upload is not whole: processing is refused with a sentence
        response = await http.post(f"/v1/transcripts/{transcript_id}/process")
        return ("refused" if response.status_code < 500 else f"HTTP {response.status_code}"), response.text[:200]
    transcript = await wait_for_status(services, transcript_id, within_s=3600)
    if transcript.status == "error" and not _sentence(transcript.error):
        return "error without a sentence", transcript.error
    return transcript.status, transcript.error


def _split(data: bytes, parts: int = 3) -> list[tuple[int, bytes]]:
    size = max(1, -(-len(data) // parts))
    return [(i, data[i * size : (i + 1) * size]) for i in range(parts)] if data else [(0, b"")]


async def r2(services: Services, settings: Settings, log: Path, tmp: Path) -> list[str]:
    worker = WorkerProcess(settings, log).start()
    good = (DATA / "real" / "jfk.flac").read_bytes()
    passed = {"process": 0, "api": 0}
    total_cases = len(CASES) + 5
    try:
        async with serve(create_app(settings, services=services)) as url, httpx.AsyncClient(
            base_url=url, timeout=600
        ) as http:  # fmt: skip
            for i, case in enumerate(CASES):
                path = case.build(tmp / f"case{i}{suffix_of(case)}")
                by_process = await asyncio.to_thread(_through_process, path, tmp / "process-data")
                chunks = _split(path.read_bytes())
                by_api = await _through_api(services, http, case.name, chunks, len(chunks), path.name)
                verdicts = [_verdict(case, outcome) for outcome in (by_process, by_api)]
                passed["process"] += verdicts[0]
                passed["api"] += verdicts[1]
                print(f"R2 {case.name:<28} process: {_show(by_process)}  api: {_show(by_api)}")
            chunked = _split(good, 4)
            special = {
                "chunks out of order": (chunked[::-1], 4, "jfk.flac", {"ended"}),
                "a chunk sent twice": ([*chunked[:2], chunked[1], *chunked[2:]], 4, "jfk.flac", {"ended"}),
                "a chunk missing": (chunked[:1] + chunked[2:], 4, "jfk.flac", {"refused"}),
                "an oversized chunk": ([(0, b"\0" * (65 << 20))], 1, "big.wav", {"refused"}),
                "name with ../ and NUL": ([(0, good)], 1, "../../etc/passwd\x00.flac", {"ended"}),
            }
            for name, (chunks, total, filename, accepted) in special.items():
                outcome = await _through_api(services, http, name, chunks, total, filename)
                passed["api"] += outcome[0] in accepted
                print(f"R2 {name:<28} api: {_show(outcome)}")
            outcome = await _through_api(services, http, "after all that", [(0, good)], 1, "jfk.flac")
            print(f"R2 then a good recording: {outcome[0]}")
    finally:
        worker.stop()
    return [
        f"R2 | {len(CASES)} malformed files through `reflector process` | {passed['process']}/{len(CASES)} "
        f"as expected | {len(CASES)}/{len(CASES)}",
        f"R2 | {len(CASES)} files + 5 chunk faults through the upload API | {passed['api']}/{total_cases} as "
        f"expected, then a good recording {outcome[0]} | {total_cases}/{total_cases}, ended",
    ]


def _verdict(case: Case, outcome: tuple[str, str]) -> bool:
    kind, text = outcome
    kind = "error" if kind == "refused" else kind
    return kind in case.accepted and (kind != "error" or _sentence(text))


def _show(outcome: tuple[str, str]) -> str:
    kind, text = outcome
    return f"{kind} ({text[:70]})" if text else kind


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


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def r6(services: Services, settings: Settings, log: Path, subscribers: int, uploads: int) -> list[str]:
    """Subscribers join each transcript's stream at random moments (before its upload, during its run,
    after its end) while the uploads run at once; each must hear the stored log exactly."""
    recording = (DATA / "real" / "jfk.flac").read_bytes()
    worker = WorkerProcess(settings, log).start()
    with tempfile.TemporaryFile() as stderr:
        web = await asyncio.to_thread(_start_web, settings, stderr)
        try:
            url = f"http://127.0.0.1:{web.port}"
            await until_serving(web.process, f"{url}/v1/transcripts", stderr, 120)
            async with httpx.AsyncClient(base_url=url, timeout=600) as http:
                ids = [
                    (await http.post("/v1/transcripts", json={"name": f"R6 {i}"})).json()["id"] for i in range(uploads)
                ]
                await asyncio.sleep(2)
                before = _rss_mb(web.process.pid)
                rng = random.Random(6)
                began = time.monotonic()
                listening = [
                    asyncio.create_task(hear_until_ended(url, ids[i % uploads], rng.uniform(0, 120), within_s=3600))
                    for i in range(subscribers)
                ]
                peak = before
                sent = asyncio.gather(*(_upload(http, t, [(0, recording)], 1, "jfk.flac") for t in ids))
                while not all(task.done() for task in listening):
                    peak = max(peak, _rss_mb(web.process.pid))
                    await asyncio.sleep(0.5)
                responses = await sent
                heard = await asyncio.gather(*listening, return_exceptions=True)
            await asyncio.sleep(2)
            after = _rss_mb(web.process.pid)
        finally:
            web.process.terminate()
            web.process.wait(30)
            worker.stop()
    exact = 0
    for i, events in enumerate(heard):
        if isinstance(events, BaseException):
            print(f"R6 subscriber {i}: {type(events).__name__}: {events}")
            continue
        problem = difference(events, await services.transcripts.events(ids[i % uploads]))
        exact += problem is None
        if problem:
            print(f"R6 subscriber {i} of {ids[i % uploads]}: {problem}")
    ended = sum([(await services.transcripts.get(t)).status == "ended" for t in ids])
    print(
        f"R6 {subscribers} subscribers, {uploads} uploads ({sum(r.status_code == 200 for r in responses)} accepted, "
        f"{ended} ended) in {time.monotonic() - began:.0f} s: {exact} heard every stored event once in order; "
        f"web RSS {before:.0f} MB before, {peak:.0f} MB at most, {after:.0f} MB after"
    )
    return [
        f"R6 | {subscribers} WebSocket subscribers on {uploads} transcripts, {uploads} uploads at once | "
        f"{exact}/{subscribers} heard every stored event once and in order, {ended}/{uploads} ended; web RSS "
        f"{before:.0f} → {peak:.0f} (peak) → {after:.0f} MB | {subscribers}/{subscribers}, bounded",
    ]


class _Web(msgspec.Struct):
    process: subprocess.Popen[bytes]
    port: int


def _start_web(settings: Settings, stderr: IO[bytes]) -> _Web:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATABASE_URL": settings.database.url or "",
        "REDIS_URL": settings.redis.url or "",
        "DATA_DIR": str(settings.data_dir),
        "LOG_LEVEL": "warning",
    }
    port = free_port()
    command = [sys.executable, "-m", "reflector", "web", "--port", str(port)]
    return _Web(subprocess.Popen(command, cwd=REPO, env=env, stderr=stderr), port)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--file", type=Path, default=DATA / "synthetic" / "standup.wav")
    parser.add_argument("--only", default="R1,R2,R5,R6")
    parser.add_argument("--subscribers", type=int, default=200, help="R6: WebSocket subscribers in all")
    parser.add_argument("--uploads", type=int, default=10, help="R6: uploads at once, one transcript each")
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
            if "R2" in chosen:
                rows += await r2(services, settings, log, Path(tmp))
            if "R5" in chosen:
                rows += await r5(services, settings, log, args.file)
            if "R6" in chosen:
                rows += await r6(services, settings, log, args.subscribers, args.uploads)
        finally:
            await stop_services(services)
    print("\ncase | fault | result | target")
    for row in rows:
        print(row)


if __name__ == "__main__":
    asyncio.run(main())
