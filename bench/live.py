"""Live captions: how soon a spoken word shows on screen, and what the live worker costs while it does.

    .venv/bin/python bench/live.py [--file ../shared/data/synthetic/standup.wav]

Starts `reflector web` and `reflector live` on a private database, streams the file over WebRTC in real
time (aiortc, as a browser would), and follows the transcript's events. Prints, for every word of the final
captions, the time from its audio being sent to the first caption showing it (p50/p95/max), and the live
worker's CPU while streaming. The baseline, in the same run, is Reflector's live chunking on the same model:
fixed 5 s chunks, each transcribed once it is complete (its latency: the wait for the chunk's end plus the
decode). Target: p95 ≤ 2 s on a 2-core machine. Not a test: figures depend on the machine.
"""

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from scratch import fresh_database  # noqa: E402

from reflector.pipelines import audio  # noqa: E402
from reflector.pipelines.transcribe import FasterWhisperTranscriber  # noqa: E402
from tests.live_client import Captions, PacedRecording, follow_captions, live_recording, percentile  # noqa: E402

TARGET_P95_S = 2.0
REFLECTOR_CHUNK_S = 5.0  # 256 WebRTC frames of 20 ms (its `frames` chunker, the default)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _wait_logged(log: Path, text: str, within_s: float = 120) -> None:
    deadline = time.monotonic() + within_s
    while text not in await asyncio.to_thread(log.read_text, errors="replace"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"never logged {text!r}")
        await asyncio.sleep(0.2)


def reflector_baseline(samples, transcriber: FasterWhisperTranscriber) -> list[float]:  # type: ignore[no-untyped-def]
    """Latency per word with fixed chunks decoded as each completes (one at a time, as its worker does)."""
    chunk = round(REFLECTOR_CHUNK_S * 16_000)
    free_at, out = 0.0, []
    for start in range(0, len(samples), chunk):
        piece = samples[start : start + chunk]
        ready = (start + len(piece)) / 16_000
        began = max(ready, free_at)
        t0 = time.perf_counter()
        words = transcriber.decode(piece, "")
        free_at = began + time.perf_counter() - t0
        out.extend(free_at - (start / 16_000 + w.end) for w in words)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=REPO.parent / "shared" / "data" / "synthetic" / "standup.wav")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--database", default="reflector_bench_live")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--slowest", type=int, default=0, metavar="N", help="also print the N slowest words")
    parser.add_argument("--translate", metavar="LANG", help="translate the captions live into LANG (e.g. fr)")
    parser.add_argument("--events", type=Path, help="write every caption, with when it arrived, to this JSON file")
    args = parser.parse_args()

    samples = audio.decode(args.file)
    settings = await fresh_database(args.admin_url, args.database, {"REDIS_URL": args.redis_url})
    url = settings.database.url
    port = _port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis_url, "DATA_DIR": data_dir,
               "LOG_LEVEL": "info"}  # fmt: skip
        logs = Path(data_dir) / "live.log"
        with logs.open("wb") as out:
            live = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "reflector", "live", env=env, cwd=REPO, stdout=out, stderr=out
            )
            web = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "reflector", "web", "--host", "127.0.0.1", "--port", str(port),
                env={**env, "LOG_LEVEL": "warning"}, cwd=REPO,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            await _wait_logged(logs, "live.started")
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                for _ in range(100):
                    try:
                        if (await http.get("/v1/health")).status_code < 500:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)
                languages = {"source_language": "en", "target_language": args.translate} if args.translate else {}
                created = await http.post("/v1/transcripts", json={"name": "bench", **languages})
                transcript_id = created.json()["id"]
                captions = Captions()
                follower = asyncio.create_task(follow_captions(base, transcript_id, captions))
                track = PacedRecording(samples)
                worker = psutil.Process(live.pid)
                async with live_recording(http, transcript_id, track) as peer:
                    cpu0, wall0 = sum(worker.cpu_times()[:2]), time.monotonic()
                    await track.passed()
                    cpu = (sum(worker.cpu_times()[:2]) - cpu0) / (time.monotonic() - wall0)
                    await asyncio.sleep(1.0)
                    peer.stop()
                    await asyncio.sleep(30.0 if args.translate else 5.0)  # translations come later
                follower.cancel()
        finally:
            for process in (web, live):
                process.terminate()
                await process.wait()

    latencies = captions.latencies(track)
    if args.events:
        shown = [{"arrived": round(track.seconds_at(at), 2), **data} for at, data in captions.events]
        args.events.write_text(json.dumps(shown, indent=1))
    finals = captions.finals()
    partials = sum(1 for _, d in captions.events if not d["final"])
    print(f"{args.file.name}: {len(samples) / 16_000:.1f} s streamed in real time; {os.cpu_count()} CPU cores")
    print(f"live worker CPU while streaming: {cpu:.0%} of one core ({cpu / (os.cpu_count() or 1):.0%} of the machine)")
    print(f"captions: {len(finals)} final, {partials} partial, {len(latencies)} words")
    print(f"caption latency  p50 {percentile(latencies, 50):.2f} s  p95 {percentile(latencies, 95):.2f} s  "
          f"max {max(latencies, default=float('nan')):.2f} s  (target p95 <= {TARGET_P95_S:.0f} s: "
          f"{'met' if percentile(latencies, 95) <= TARGET_P95_S else 'MISSED'})")  # fmt: skip
    for latency, word, final in sorted(captions.word_latencies(track), key=lambda x: -x[0])[: args.slowest]:
        print(f"  {latency:5.2f} s  {word['text']!r} at {word['end']:.1f} s in: {final['text']}")
    if args.translate:
        finals_at = captions.final_arrivals()
        waits = [
            at - finals_at[e["data"]["index"]]
            for at, e in zip(captions.other_at, captions.other, strict=True)
            if e["event"] == "TRANSLATION" and e["data"]["index"] in finals_at
        ]
        print(f"translations: {len(waits)} of {len(finals)} final captions, each after its caption: "
              f"p50 {percentile(waits, 50):.2f} s  p95 {percentile(waits, 95):.2f} s")  # fmt: skip
    baseline = reflector_baseline(samples, FasterWhisperTranscriber(batched=False))
    print(f"baseline (Reflector's {REFLECTOR_CHUNK_S:.0f} s chunks, same model): p50 {percentile(baseline, 50):.2f} s  "
          f"p95 {percentile(baseline, 95):.2f} s  max {max(baseline, default=float('nan')):.2f} s")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
