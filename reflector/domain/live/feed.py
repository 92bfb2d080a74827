"""The audio of live recordings on its way from the web process that receives it to the captioner.

Each recording's 16 kHz audio goes into a Redis stream in pieces of about 100 ms, each stamped with the
sample it starts at; an `end` entry closes it. Recordings being captioned are listed in a set, each
claimed by one captioner with a lock it renews, so a captioner that dies leaves its recordings to the
next one, which resumes after the last final caption (`Progress`).
"""

from collections.abc import AsyncIterator

import msgspec
import numpy as np
from redis.asyncio import Redis

from reflector.encoding import encode

# A captioner may fall this far behind (pieces of ~100 ms: ten minutes) before the oldest audio goes; the
# recording on disk is complete either way.
STREAM_MAXLEN = 6000
STREAM_TTL_S = 3600
CLAIM_TTL_S = 10
ACTIVE = "reflector:live:active"
SCALE = 32767.0


def recording_lock(transcript_id: str) -> str:
    """Held by the web process receiving the recording, while it does."""
    return f"reflector:recording:{transcript_id}"


def _stream(transcript_id: str) -> str:
    return f"reflector:live:{transcript_id}:audio"


def _progress(transcript_id: str) -> str:
    return f"reflector:live:{transcript_id}:progress"


def _claim(transcript_id: str) -> str:
    return f"reflector:live:{transcript_id}:captioner"


class Piece(msgspec.Struct, frozen=True):
    at: int  # the first sample's offset in the recording
    samples: np.ndarray | None  # None: the recording ended


class Progress(msgspec.Struct):
    """What a captioner has finished: audio before `committed` (seconds) is in final captions."""

    committed: float = 0.0
    prompt: str = ""
    index: int = 0


class LiveFeed:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    # --- the web process's side ---

    async def open(self, transcript_id: str) -> None:
        """A new recording: any feed of an earlier one is forgotten."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(_stream(transcript_id), _progress(transcript_id))
            pipe.sadd(ACTIVE, transcript_id)
            await pipe.execute()

    async def push(self, transcript_id: str, at: int, samples: np.ndarray) -> None:
        pcm = (np.clip(samples, -1.0, 1.0) * SCALE).astype("<i2").tobytes()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(_stream(transcript_id), {"at": at, "pcm": pcm}, maxlen=STREAM_MAXLEN, approximate=True)
            pipe.expire(_stream(transcript_id), STREAM_TTL_S)
            await pipe.execute()

    async def end(self, transcript_id: str, at: int) -> None:
        await self._redis.xadd(_stream(transcript_id), {"at": at, "end": 1})

    # --- the captioner's side ---

    async def active(self) -> list[str]:
        return sorted(m.decode() for m in await self._redis.smembers(ACTIVE))

    async def claim(self, transcript_id: str, owner: str) -> bool:
        return bool(await self._redis.set(_claim(transcript_id), owner, nx=True, ex=CLAIM_TTL_S))

    async def captioner(self, transcript_id: str) -> str | None:
        """Which captioner holds the recording now, if any."""
        owner = await self._redis.get(_claim(transcript_id))
        return owner.decode() if owner else None

    async def renew(self, transcript_id: str, owner: str) -> bool:
        """Keep the claim; False when it was lost (this captioner stalled and another took over)."""
        key = _claim(transcript_id)
        if (await self._redis.get(key) or b"").decode() != owner:
            return False
        await self._redis.expire(key, CLAIM_TTL_S)
        return True

    async def recording(self, transcript_id: str) -> bool:
        """Whether a web process is still receiving the recording."""
        return bool(await self._redis.exists(recording_lock(transcript_id)))

    async def pieces(self, transcript_id: str, *, block_ms: int = 1000) -> AsyncIterator[list[Piece]]:
        """The recording's pieces from its start, in batches as they arrive; an empty batch when none came
        for `block_ms`. Ends after the `end` piece."""
        key, last = _stream(transcript_id), "0-0"
        while True:
            reply = await self._redis.xread({key: last}, count=200, block=block_ms)
            entries = reply[0][1] if reply else []
            batch = []
            for entry_id, fields in entries:
                last = entry_id
                at = int(fields[b"at"])
                if b"end" in fields:
                    batch.append(Piece(at, None))
                    yield batch
                    return
                batch.append(Piece(at, np.frombuffer(fields[b"pcm"], dtype="<i2").astype(np.float32) / SCALE))
            yield batch

    async def progress(self, transcript_id: str) -> Progress:
        stored = await self._redis.get(_progress(transcript_id))
        return msgspec.json.decode(stored, type=Progress) if stored else Progress()

    async def save(self, transcript_id: str, progress: Progress) -> None:
        await self._redis.set(_progress(transcript_id), encode(progress), ex=STREAM_TTL_S)

    async def done(self, transcript_id: str, owner: str) -> None:
        """The recording is captioned to its end: its feed and claim go."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.srem(ACTIVE, transcript_id)
            pipe.delete(_stream(transcript_id), _progress(transcript_id))
            await pipe.execute()
        if (await self._redis.get(_claim(transcript_id)) or b"").decode() == owner:
            await self._redis.delete(_claim(transcript_id))
