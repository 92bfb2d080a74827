"""A live recording as Reflector's clients make one: an aiortc peer sends a recording in real time, and a
WebSocket on the transcript's events notes when each caption arrives. Shared by the tests and bench/live.py.
"""

import asyncio
import contextlib
import fractions
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import av
import httpx
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from websockets.asyncio.client import connect

from tests.references import normalise

RATE = 16_000
FRAME = RATE // 50  # 20 ms, as a browser sends


class PacedRecording(MediaStreamTrack):
    """Audio sent no faster than it plays. `sent_at(t)`: when the audio at `t` seconds left (monotonic).
    `pause()` stops the audio until `resume()`, as a muted or suspended microphone would."""

    kind = "audio"

    def __init__(self, samples: np.ndarray, *, until_s: float | None = None) -> None:
        super().__init__()
        end = len(samples) if until_s is None else min(len(samples), round(until_s * RATE))
        self._pcm = (np.clip(samples[:end], -1, 1) * 32767).astype(np.int16)
        self._at = 0
        self.started: float | None = None
        self._marks: list[tuple[int, asyncio.Future[None]]] = []

    def passed(self, seconds: float | None = None) -> "asyncio.Future[None]":
        """Done once the audio up to `seconds` (all of it, by default) has been sent."""
        mark = len(self._pcm) if seconds is None else min(len(self._pcm), round(seconds * RATE))
        future = asyncio.get_running_loop().create_future()
        self._marks.append((mark, future))
        self._settle()
        return future

    def _settle(self) -> None:
        for mark, future in self._marks:
            if self._at >= mark and not future.done():
                future.set_result(None)

    @property
    def seconds_sent(self) -> float:
        return self._at / RATE

    def sent_at(self, seconds: float) -> float:
        assert self.started is not None
        return self.started + seconds

    def seconds_at(self, moment: float) -> float:
        """How far into the recording the sending was at `moment` (monotonic)."""
        assert self.started is not None
        return moment - self.started

    async def recv(self) -> av.AudioFrame:
        if self._at >= len(self._pcm):
            self.stop()
            raise MediaStreamError
        if self.started is None:
            self.started = time.monotonic()
        due = self.started + self._at / RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        chunk = self._pcm[self._at : self._at + FRAME]
        if len(chunk) < FRAME:
            chunk = np.pad(chunk, (0, FRAME - len(chunk)))
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._at
        frame.time_base = fractions.Fraction(1, RATE)
        self._at += FRAME
        self._settle()
        return frame


@dataclass
class Captions:
    """Each TRANSCRIPT event with the moment it arrived (monotonic)."""

    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    other: list[dict[str, Any]] = field(default_factory=list)
    other_at: list[float] = field(default_factory=list)  # when each of `other` arrived (monotonic)

    def finals(self) -> list[dict[str, Any]]:
        by_index = {d["index"]: d for _, d in self.events if d.get("final")}
        return [by_index[i] for i in sorted(by_index) if by_index[i]["words"]]

    def final_arrivals(self) -> dict[int, float]:
        """When each final caption arrived, by index."""
        return {d["index"]: at for at, d in self.events if d.get("final")}

    def text(self) -> str:
        return " ".join(d["text"] for d in self.finals())

    def latencies(self, track: PacedRecording) -> list[float]:
        """For each word of a final caption: from when its audio was sent to the first caption (partial or
        final, same utterance) showing it."""
        return [latency for latency, _word, _final in self.word_latencies(track)]

    def word_latencies(self, track: PacedRecording) -> list[tuple[float, dict[str, Any], dict[str, Any]]]:
        """(latency, word, its final caption) for each word of a final caption."""
        shown: dict[tuple[int, str], list[tuple[float, float]]] = {}
        for arrived, data in self.events:
            for word in data["words"]:
                shown.setdefault((data["index"], normalise(word["text"])), []).append((word["end"], arrived))
        out = []
        for final in self.finals():
            for word in final["words"]:
                seen = shown[(final["index"], normalise(word["text"]))]
                first = min(arrived for end, arrived in seen if abs(end - word["end"]) < 0.6)
                out.append((first - track.sent_at(word["end"]), word, final))
        return out


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


async def follow_captions(base_url: str, transcript_id: str, captions: Captions, headers: dict | None = None) -> None:
    url = base_url.replace("http", "ws", 1) + f"/v1/transcripts/{transcript_id}/events?partials=true"
    async with connect(url, additional_headers=headers or {}) as socket:
        async for message in socket:
            event = json.loads(message)
            if event["event"] == "TRANSCRIPT":
                captions.events.append((time.monotonic(), event["data"]))
            else:
                captions.other.append(event)
                captions.other_at.append(time.monotonic())


@contextlib.asynccontextmanager
async def live_recording(
    http: httpx.AsyncClient, transcript_id: str, track: MediaStreamTrack
) -> AsyncIterator["LivePeer"]:
    peer = RTCPeerConnection()
    peer.addTrack(track)
    channel = peer.createDataChannel("data")
    opened = asyncio.Event()
    channel.on("open", opened.set)
    await peer.setLocalDescription(await peer.createOffer())
    answer = await http.post(
        f"/v1/transcripts/{transcript_id}/record/webrtc",
        json={"sdp": peer.localDescription.sdp, "type": peer.localDescription.type},
    )
    assert answer.status_code == 200, answer.text
    await peer.setRemoteDescription(RTCSessionDescription(**answer.json()))
    await asyncio.wait_for(opened.wait(), 20)
    live = LivePeer(peer, channel)
    try:
        yield live
    finally:
        await peer.close()


@dataclass
class LivePeer:
    peer: RTCPeerConnection
    channel: Any

    def stop(self) -> None:
        self.channel.send(json.dumps({"cmd": "STOP"}))
