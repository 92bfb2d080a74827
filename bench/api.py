"""Load check of the /v1 API: a real `reflector web` process over 10,000 transcripts, hit by concurrent clients.

    .venv/bin/python bench/api.py [--seconds 30] [--clients 100] [--transcripts 10000] [--reseed]
    .venv/bin/python bench/api.py --open-loop [--processes 1,2] [--seconds 20]

Builds (or reuses) a private database on the PostgreSQL at --admin-url, applies our migrations, seeds
transcripts with titles, summaries, 2–5 KB of speech and three topics each, starts `reflector web` on a
free loopback port, then runs two phases of --seconds each: list pages and single transcripts mixed,
then full-text search. Prints requests/s, p50/p95/p99 per kind and errors against the targets
(list/get p99 ≤ 25 ms, search p95 ≤ 50 ms). Not a test: figures depend on the machine.

--open-loop measures what closed-loop clients hide: for each web-process count in --processes (started
with WEB_CONCURRENCY=N, in one run), and for list + get, then search, the saturation throughput (closed
loop, --clients), then a fixed request rate of half of it for --seconds, each request sent on its
schedule whether or not the earlier ones were answered, and latency counted from that scheduled moment
(no coordinated omission): p50/p95/p99 at 50 % load, as a user meets them, against the targets; and the
CPU time the web processes spent per request meanwhile, which other work on the machine does not inflate;
and how late the load generator itself sent the requests (p99), a share of the tail that is its own.
"""

import argparse
import asyncio
import gc
import json
import os
import random
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reflector.entrypoints.migrate import migrate  # noqa: E402
from reflector.settings import load_settings  # noqa: E402

TARGETS = {"list": ("p99", 25.0), "get": ("p99", 25.0), "search": ("p95", 50.0)}
PAGE_SIZE = 50  # the API's default, what `?page=N` alone gets

# Each transcript speaks of three subjects, so a search for one finds about 5% of them, as a real word would.
SUBJECTS = ["budget", "release", "hiring", "roadmap", "security", "migration", "pricing", "onboarding",
            "invoice", "marketing", "database", "latency", "customer", "contract", "design", "testing",
            "deployment", "support", "analytics", "partnership", "compliance", "training", "inventory", "mobile",
            "payroll", "audit", "warehouse", "shipping", "localization", "accessibility", "backup", "licensing",
            "procurement", "sponsorship", "newsletter", "conference", "benchmark", "firmware", "refund", "survey",
            "outage", "forecast", "recruiting", "translation", "pipeline", "dashboard", "encryption", "vendor",
            "headcount", "retention", "checkout", "wireframe", "sprint", "storage", "webinar"]  # fmt: skip
MEETINGS = ["weekly sync", "review", "planning", "retrospective", "kick-off", "check-in", "workshop", "standup"]
FILLER = ["we", "should", "the", "next", "quarter", "team", "agreed", "to", "move", "forward", "with", "a",
          "plan", "for", "and", "then", "look", "at", "numbers", "again", "on", "Friday", "I", "think", "that",
          "is", "fine", "but", "need", "more", "time", "customers", "asked", "about", "it", "last", "week",
          "let's", "ship", "first", "version", "so", "can", "measure", "results", "owner", "deadline"]  # fmt: skip


def _sentence(rng: random.Random, topic: str) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(6, 14))]
    words.insert(rng.randrange(len(words)), topic)
    return " ".join(words).capitalize() + "."


def _transcript_row(rng: random.Random, created_at: datetime) -> tuple[tuple, list[tuple]]:
    """One transcript row for COPY, and its topic rows."""
    subjects = rng.sample(SUBJECTS, 3)
    title = f"{subjects[0].capitalize()} {rng.choice(MEETINGS)}: {subjects[1]} and {subjects[2]}"
    lines, topics, clock = [], [], 0.0
    for position, subject in enumerate(subjects):
        spoken = [_sentence(rng, subject) for _ in range(rng.randint(8, 22))]
        words = []
        for i, sentence in enumerate(spoken):
            speaker = i % 2
            lines.append(f"Speaker {speaker}: {sentence}")
            for word in sentence.split():
                words.append({"text": word, "start": round(clock, 2), "end": round(clock + 0.3, 2), "speaker": speaker})
                clock += 0.4
        start = words[0]["start"]
        topics.append((str(uuid.uuid4()), position, f"{subject.capitalize()}", spoken[0], start, clock - start,
                       json.dumps(words)))  # fmt: skip
    long_summary = " ".join(_sentence(rng, s) for s in subjects for _ in range(3))
    row = (str(uuid.uuid4()), "local", title, title, "ended", "private", "file", "en", "en", clock * 1000,
           _sentence(rng, subjects[0]), long_summary, json.dumps({"decisions": [], "next_steps": []}),
           "\n".join(lines), created_at, created_at)  # fmt: skip
    return row, topics


TRANSCRIPT_COLUMNS = ["id", "user_id", "name", "title", "status", "share_mode", "source_kind", "source_language",
                      "target_language", "duration", "short_summary", "long_summary", "action_items", "text",
                      "created_at", "updated_at"]  # fmt: skip
TOPIC_COLUMNS = ["id", "transcript_id", "position", "title", "summary", "timestamp", "duration", "words"]


async def prepare_database(admin_url: str, name: str, redis_url: str, count: int, reseed: bool) -> str:
    """The benchmark database's URL, migrated and holding `count` transcripts (reused when it already does)."""
    url = f"{admin_url.rpartition('/')[0]}/{name}"
    admin = await asyncpg.connect(admin_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and not reseed:
            conn = await asyncpg.connect(url)
            try:
                have = await conn.fetchval("SELECT count(*) FROM transcript")
            except asyncpg.UndefinedTableError:
                have = -1
            finally:
                await conn.close()
            if have == count:
                print(f"database {name}: reusing {have} transcripts (--reseed to rebuild)")
                # Seeded by an earlier version: the queries measured may need an index added since.
                await migrate(load_settings({"DATABASE_URL": url, "REDIS_URL": redis_url}, dotenv=Path("/nonexistent")))
                await _vacuum(url)
                return url
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await migrate(load_settings({"DATABASE_URL": url, "REDIS_URL": redis_url}, dotenv=Path("/nonexistent")))
    started = time.perf_counter()
    rng, now = random.Random(42), datetime.now(UTC)
    transcripts, topics = [], []
    for i in range(count):
        row, rows = _transcript_row(rng, now - timedelta(minutes=37 * i))
        transcripts.append(row)
        topics += [(topic[0], row[0], *topic[1:]) for topic in rows]
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("transcript", records=transcripts, columns=TRANSCRIPT_COLUMNS)
        await conn.copy_records_to_table("topic", records=topics, columns=TOPIC_COLUMNS)
        size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    finally:
        await conn.close()
    await _vacuum(url)
    kb = sum(len(t[13]) for t in transcripts) / len(transcripts) / 1024
    print(f"seeded {count} transcripts ({kb:.1f} KB of text each) and {len(topics)} topics "
          f"in {time.perf_counter() - started:.1f} s; database {size}")  # fmt: skip
    return url


async def _vacuum(url: str) -> None:
    """What autovacuum does to a production database after a bulk insert. Some PostgreSQL set-ups (test
    machines among them) run with autovacuum off: unvacuumed, the pages are not marked all-visible, the
    listing's index-only scans must visit the table, and the planner sorts the whole table instead (a
    deep list page 13 ms instead of 3)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def start_web(
    database_url: str, redis_url: str, data_dir: str, processes: int = 1
) -> tuple[asyncio.subprocess.Process, str]:
    """`reflector web` as the Procfile runs it, on a free loopback port, once it answers /health."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "DATA_DIR": data_dir,
           "LOG_LEVEL": "warning", "WEB_CONCURRENCY": str(processes)}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reflector", "web", "--host", "127.0.0.1", "--port", str(port), env=env, cwd=REPO
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.returncode is not None:
                raise SystemExit(f"reflector web exited with {process.returncode}")
            try:
                async with session.get(f"{base}/health") as response:
                    if response.status == 200:
                        return process, base
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    process.terminate()
    raise SystemExit("reflector web did not answer /health within 30 s")


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.missing: set[str] = set()
        # Open loop: how late the load generator itself sent each request (its own event loop's delay),
        # which the latencies include: a tail the server did not cause.
        self.late: list[float] = []

    def add(self, kind: str, seconds: float, status: int) -> None:
        if status == 404 and kind == "search":
            self.missing.add(kind)
        if status != 200:
            self.errors[kind] = self.errors.get(kind, 0) + 1
        else:
            self.latencies.setdefault(kind, []).append(seconds * 1000)


async def run_phase(
    base: str, clients: int, seconds: float, next_request: Callable[[random.Random], tuple[str, str]]
) -> tuple[Recorder, float]:
    """`clients` closed-loop clients for `seconds`; returns what they saw and the elapsed time."""
    recorder = Recorder()
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)

    async def client(session: aiohttp.ClientSession, rng: random.Random) -> None:
        while time.perf_counter() < deadline:
            kind, path = next_request(rng)
            started = time.perf_counter()
            try:
                async with session.get(base + path) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientError:
                status = 0
            recorder.add(kind, time.perf_counter() - started, status)
            if kind in recorder.missing:
                return

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session, random.Random(i)) for i in range(clients)))
    return recorder, time.perf_counter() - started


async def run_open_loop(
    base: str, rate: float, seconds: float, next_request: Callable[[random.Random], tuple[str, str]]
) -> tuple[Recorder, float]:
    """`rate` requests a second for `seconds`, each sent at its scheduled moment; latency from that moment."""
    recorder = Recorder()
    rng = random.Random(1)
    interval = 1.0 / rate
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)

    async def one(session: aiohttp.ClientSession, due: float, kind: str, path: str) -> None:
        recorder.late.append((time.perf_counter() - due) * 1000)
        try:
            async with session.get(base + path) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        recorder.add(kind, time.perf_counter() - due, status)

    started = time.perf_counter()
    tasks: list[asyncio.Task] = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for n in range(int(rate * seconds)):
            due = started + n * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            kind, path = next_request(rng)
            tasks.append(asyncio.create_task(one(session, due, kind, path)))
        await asyncio.gather(*tasks)
    return recorder, time.perf_counter() - started


def _throughput(recorder: Recorder, elapsed: float) -> float:
    return sum(len(v) for v in recorder.latencies.values()) / elapsed


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(phase: str, recorder: Recorder, elapsed: float) -> None:
    total = sum(len(v) for v in recorder.latencies.values()) + sum(recorder.errors.values())
    print(f"\n{phase}: {total} requests in {elapsed:.1f} s = {total / elapsed:.0f} requests/s")
    for kind in sorted(set(recorder.latencies) | set(recorder.errors)):
        if kind in recorder.missing:
            print(f"  {kind:<7} search endpoint missing (404)")
            continue
        values = recorder.latencies.get(kind, [])
        errors = recorder.errors.get(kind, 0)
        if not values:
            print(f"  {kind:<7} no successful requests, {errors} errors")
            continue
        p50, p95, p99 = (_percentile(values, q) for q in (0.50, 0.95, 0.99))
        which, limit = TARGETS[kind]
        measured = {"p95": p95, "p99": p99}[which]
        verdict = "met" if measured <= limit and not errors else "NOT met"
        print(f"  {kind:<7} {len(values) / elapsed:7.0f}/s  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms"
              f"  errors {errors}  target {which} ≤ {limit:.0f} ms: {verdict}")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--database", default="reflector_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--transcripts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--reseed", action="store_true", help="rebuild the database even if it is already seeded")
    parser.add_argument("--open-loop", action="store_true", help="saturation, then a fixed rate at half of it")
    parser.add_argument("--processes", default="1,2", help="web process counts to compare with --open-loop")
    args = parser.parse_args()

    url = await prepare_database(args.admin_url, args.database, args.redis_url, args.transcripts, args.reseed)
    conn = await asyncpg.connect(url)
    ids = [row["id"] for row in await conn.fetch("SELECT id FROM transcript")]
    await conn.close()
    # The load generator's own full garbage collections (tens of ms over the seeding's objects) would
    # delay sends and count as the server's latency.
    gc.collect()
    gc.freeze()
    pages = max(1, -(-len(ids) // PAGE_SIZE))

    def list_or_get(rng: random.Random) -> tuple[str, str]:
        if rng.random() < 0.5:
            return "list", f"/v1/transcripts?page={rng.randint(1, pages)}"
        return "get", f"/v1/transcripts/{rng.choice(ids)}"

    def search(rng: random.Random) -> tuple[str, str]:
        return "search", f"/v1/transcripts/search?q={rng.choice(SUBJECTS)}"

    if args.open_loop:
        await open_loop(args, url, list_or_get, search)
        return
    print(f"{os.cpu_count()} CPU cores shared by the clients, the web process, PostgreSQL and Redis: "
          f"{args.clients} closed-loop clients, so latency ≈ clients / throughput once the server is busy")  # fmt: skip
    with tempfile.TemporaryDirectory() as data_dir:
        process, base = await start_web(url, args.redis_url, data_dir)
        try:
            await run_phase(base, 4, 1.0, list_or_get)  # warm the pool and caches
            report("list + get", *await run_phase(base, args.clients, args.seconds, list_or_get))
            report("search", *await run_phase(base, args.clients, args.seconds, search))
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=10)


async def open_loop(
    args: argparse.Namespace,
    url: str,
    list_or_get: Callable[[random.Random], tuple[str, str]],
    search: Callable[[random.Random], tuple[str, str]],
) -> None:
    rows, memory = [], {}
    for processes in (int(n) for n in args.processes.split(",")):
        with tempfile.TemporaryDirectory() as data_dir:
            process, base = await start_web(url, args.redis_url, data_dir, processes)
            try:
                await run_phase(base, 4, 1.0, list_or_get)
                for mix, target in (("list + get", list_or_get), ("search", search)):
                    saturated, elapsed = await run_phase(base, args.clients, args.seconds, target)
                    saturation = _throughput(saturated, elapsed)
                    cpu_before = _cpu_seconds(process.pid)
                    half, _ = await run_open_loop(base, saturation / 2, args.seconds, target)
                    answered = sum(len(v) for v in half.latencies.values()) + sum(half.errors.values())
                    cpu_ms = (_cpu_seconds(process.pid) - cpu_before) * 1000 / max(1, answered)
                    rows.append((processes, mix, saturation, half, sum(saturated.errors.values()), cpu_ms))
                memory[processes] = _web_memory_mb(process.pid)
            finally:
                process.terminate()
                await asyncio.wait_for(process.wait(), timeout=10)
    load = " / ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"\n{os.cpu_count()} CPU cores shared by the clients, the web processes, PostgreSQL and Redis "
          f"(load average at the end {load})")  # fmt: skip
    print("web processes | requests | saturation (closed loop) | open loop at 50 % | p50 | p95 | p99 | target | errors"
          " | web CPU per request | sent late, p99")  # fmt: skip
    print("--- | --- | --- | --- | --- | --- | --- | --- | --- | --- | ---")
    for processes, mix, saturation, half, saturated_errors, cpu_ms in rows:
        values = [v for kind in half.latencies.values() for v in kind]
        p50, p95, p99 = (_percentile(values, q) for q in (0.50, 0.95, 0.99))
        which, limit = TARGETS["search" if mix == "search" else "get"]
        errors = saturated_errors + sum(half.errors.values())
        verdict = "met" if {"p95": p95, "p99": p99}[which] <= limit and not errors else "NOT met"
        print(f"{processes} | {mix} | {saturation:.0f} req/s | {saturation / 2:.0f} req/s | {p50:.1f} ms | "
              f"{p95:.1f} ms | {p99:.1f} ms | {which} ≤ {limit:.0f} ms: {verdict} | {errors} | "
              f"{cpu_ms:.2f} ms | {_percentile(half.late, 0.99):.1f} ms")  # fmt: skip
    for processes, (total, each) in memory.items():
        each_mb = ", ".join(f"{mb:.0f}" for mb in each)
        print(f"{processes} web process(es) after the run: {total:.0f} MB in all (parent included), each {each_mb} MB")


def _cpu_seconds(pid: int) -> float:
    """CPU time the web process tree has used so far: what a request costs, whatever else shares the cores."""
    tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return sum(sum(p.cpu_times()[:2]) for p in tree)


def _web_memory_mb(pid: int) -> tuple[float, list[float]]:
    """RSS of `reflector web`'s process tree, and of each process serving requests (the one process, or the
    workers uvicorn spawned beside its resource tracker)."""
    tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    rss = {p.pid: p.memory_info().rss / 2**20 for p in tree}
    serving = [p.pid for p in tree if "spawn_main" in " ".join(p.cmdline())] or [pid]
    return sum(rss.values()), [rss[p] for p in serving]


if __name__ == "__main__":
    asyncio.run(main())
