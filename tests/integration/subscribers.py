"""WebSocket subscribers of a transcript's events, and what each heard against its stored log (issue 13,
R6): used by the tests and by `bench/faults.py`."""

import asyncio
import json
import time
from collections import Counter
from typing import Any

from websockets.asyncio.client import connect

# Events that are sent and never stored (and so never replayed).
LIVE_ONLY = {"PROGRESS"}
Event = tuple[str, Any]


async def hear_until_ended(base_url: str, transcript_id: str, join_after_s: float, within_s: float) -> list[Event]:
    """Join the transcript's stream after `join_after_s` and keep every stored kind of event heard, up to
    the STATUS that ends the run (replayed or live)."""
    await asyncio.sleep(join_after_s)
    url = base_url.replace("http://", "ws://", 1) + f"/v1/transcripts/{transcript_id}/events"
    heard: list[Event] = []
    deadline = time.monotonic() + within_s
    async with connect(url, max_size=None, open_timeout=30) as socket:
        while True:
            async with asyncio.timeout(max(deadline - time.monotonic(), 0.1)):
                message = json.loads(await socket.recv())
            if message["event"] in LIVE_ONLY:
                continue
            heard.append((message["event"], message["data"]))
            if message["event"] == "STATUS" and message["data"]["value"] in ("ended", "error"):
                return heard


def difference(heard: list[Event], stored: list[Event]) -> str | None:
    """None when `heard` is the stored log exactly: in order, none twice, none lost; else what differs.

    A socket open before the run started also heard what the start of a run clears from the log (the
    upload's STATUS `uploaded`): `heard` may begin with events the log no longer holds, none of them one
    it holds."""
    earlier = len(heard) - len(stored)
    if earlier >= 0 and heard[earlier:] == stored and not any(event in stored for event in heard[:earlier]):
        return None
    key = [json.dumps(e, sort_keys=True) for e in heard]
    want = [json.dumps(e, sort_keys=True) for e in stored]
    twice = sum((Counter(key) - Counter(want)).values())
    lost = sum((Counter(want) - Counter(key)).values())
    if twice or lost:
        extra = [e[0] for e in heard if (Counter(key) - Counter(want))[json.dumps(e, sort_keys=True)]]
        return f"{twice} heard twice or not in the log ({', '.join(extra)}), {lost} lost of {len(stored)}"
    first = next(i for i, (a, b) in enumerate(zip(key, want, strict=True)) if a != b)
    return f"out of order from event {first} ({heard[first][0]} where {stored[first][0]} was stored)"
