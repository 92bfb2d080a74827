"""Chunked uploads: each chunk is kept in the object store as a part until all have arrived, in any
order, then the parts are joined in order into the transcript's upload and a processing run is queued.

Parts live in the store rather than on one web process's disk, so any process may take any chunk.
"""

import asyncio
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

import av
import msgspec
import structlog
from redis.asyncio import Redis

from reflector.domain.transcripts.models import (
    InvalidChunk,
    MissingChunks,
    NoAudioStream,
    RecordingTooLong,
    TranscriptChanges,
    TranscriptLocked,
    TranscriptView,
    UploadInProgress,
    UploadTooLarge,
)
from reflector.domain.transcripts.service import TranscriptService
from reflector.pipelines import audio

log = structlog.get_logger(__name__)

MAX_CHUNKS = 10_000
# A part's key carries its number and size, so one listing gives the running total of an upload.
_PART = re.compile(r"(?P<number>\d+)-(?P<size>\d+)(?P<suffix>\.[a-z0-9]{1,8})?")
_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")

# Joining is serialised per transcript across every web process (a Redis lock), so two chunks completing
# an upload together, in one process or two, join it once; the second finds no parts and does nothing.
JOIN_LOCK_S = 600  # held at most this long: joining a 2 GB upload on a slow disk, with room to spare


def _join_lock(transcript_id: str) -> str:
    return f"reflector:upload:{transcript_id}:joining"


class UploadLimits(msgspec.Struct, frozen=True):
    max_bytes: int
    max_seconds: float


class Part(msgspec.Struct, frozen=True):
    key: str
    number: int
    size: int
    suffix: str


class StoredChunk(msgspec.Struct, frozen=True):
    number: int
    size: int


class Runs(Protocol):
    """What uploads need of the pipelines module: whether a run is active, and to ask for one."""

    async def active_run(self, transcript_id: str) -> object | None: ...

    async def reprocess(self, transcript_id: str) -> tuple[object, bool]: ...


class _Inspection(msgspec.Struct, frozen=True):
    has_audio: bool
    seconds: float | None = None
    suffix: str = ""


def chunks_prefix(transcript_id: str) -> str:
    return f"transcripts/{transcript_id}/chunks/"


def _set_prefix(transcript_id: str, total: int) -> str:
    # Parts are grouped by the total the client announced, so an upload restarted with another
    # chunking never mixes with the parts of the abandoned one.
    return f"{chunks_prefix(transcript_id)}{total}/"


class ChunkedUploads:
    def __init__(self, transcripts: TranscriptService, runs: Runs, limits: UploadLimits, redis: Redis) -> None:
        self._transcripts = transcripts
        self._redis = redis
        self._storage = transcripts.storage
        self._runs = runs
        self._limits = limits

    async def receive(self, transcript_id: str, number: int, total: int, filename: str, chunk: BinaryIO) -> bool:
        """Keep chunk `number` of `total` (a re-sent one replaces its earlier copy); True once the upload
        is complete, joined and queued for processing."""
        if not 1 <= total <= MAX_CHUNKS or not 0 <= number < total:
            raise InvalidChunk(f"chunk_number must be between 0 and total_chunks - 1 ({total - 1}), got {number}")
        transcript = await self._transcripts.get(transcript_id)
        if transcript.locked:
            raise TranscriptLocked()
        if await self._runs.active_run(transcript_id) is not None:
            raise UploadInProgress()
        parts = await self._parts(transcript_id, total)
        size = await asyncio.to_thread(_size_of, chunk)
        others = sum(part.size for part in parts.values() if part.number != number)
        if others + size > self._limits.max_bytes:
            raise UploadTooLarge(self._limits.max_bytes)
        suffix = Path(filename).suffix.lower()
        suffix = suffix if _SUFFIX.fullmatch(suffix) else ""
        key = f"{_set_prefix(transcript_id, total)}{number:05d}-{size}{suffix}"
        await self._put(key, chunk)
        if (earlier := parts.get(number)) and earlier.key != key:
            await self._storage.delete(earlier.key)
        parts[number] = Part(key, number, size, suffix)
        log.info("upload.chunk_received", transcript_id=transcript_id, number=number, total=total, size=size)

        missing = [n for n in range(total) if n not in parts]
        if missing:
            if number == total - 1:
                raise MissingChunks(missing, total)
            return False
        async with self._redis.lock(_join_lock(transcript_id), timeout=JOIN_LOCK_S, blocking_timeout=JOIN_LOCK_S):
            parts = await self._parts(transcript_id, total)
            if len(parts) < total:  # another request joined them meanwhile
                return True
            await self._join(transcript, [parts[n] for n in range(total)])
        await self._runs.reprocess(transcript_id)
        return True

    async def stored(self, transcript_id: str, total: int) -> list[StoredChunk]:
        """The chunks of a `total`-chunk upload already kept, so an interrupted upload sends only the rest."""
        if not 1 <= total <= MAX_CHUNKS:
            raise InvalidChunk(f"total_chunks must be between 1 and {MAX_CHUNKS}, got {total}")
        await self._transcripts.get(transcript_id)
        parts = await self._parts(transcript_id, total)
        return [StoredChunk(number=n, size=parts[n].size) for n in sorted(parts)]

    async def _parts(self, transcript_id: str, total: int) -> dict[int, Part]:
        prefix = _set_prefix(transcript_id, total)
        parts: dict[int, Part] = {}
        for key in await self._storage.list_keys(prefix):
            match = _PART.fullmatch(key.removeprefix(prefix))
            if match and int(match["number"]) < total:
                number = int(match["number"])
                parts[number] = Part(key, number, int(match["size"]), match["suffix"] or "")
        return parts

    async def _put(self, key: str, chunk: BinaryIO) -> None:
        # The web layer's spooled file may be memory or an unnamed temp file: give the store a path.
        with tempfile.TemporaryDirectory(prefix="reflector-chunk-") as tmp:
            path = Path(tmp) / "part"
            await asyncio.to_thread(_copy_to, chunk, path)
            await self._storage.put_file(key, path)

    async def _join(self, transcript: TranscriptView, parts: list[Part]) -> None:
        with tempfile.TemporaryDirectory(prefix="reflector-upload-") as tmp:
            joined = Path(tmp) / "upload"
            with joined.open("wb") as out:
                for part in parts:
                    async for data in self._storage.open_range(part.key):
                        await asyncio.to_thread(out.write, data)
            found = await asyncio.to_thread(_inspect, joined)
            if not found.has_audio or (found.seconds or 0) > self._limits.max_seconds:
                # Rejected whole: the parts could only ever join into this same file.
                await self._storage.delete_prefix(chunks_prefix(transcript.id))
                log.info("upload.rejected", transcript_id=transcript.id, seconds=found.seconds)
                if not found.has_audio:
                    raise NoAudioStream()
                raise RecordingTooLong(found.seconds or 0, self._limits.max_seconds)
            path = joined.rename(joined.with_suffix(parts[0].suffix or found.suffix))
            await self._transcripts.update(transcript.id, TranscriptChanges(source_kind="file"))
            await self._transcripts.store_upload(transcript.id, path)
        # Only now: an upload that failed to store keeps its parts, and re-sending a chunk completes it.
        await self._storage.delete_prefix(chunks_prefix(transcript.id))
        log.info("upload.completed", transcript_id=transcript.id, chunks=len(parts), seconds=found.seconds)


def _size_of(chunk: BinaryIO) -> int:
    size = chunk.seek(0, 2)
    chunk.seek(0)
    return size


def _copy_to(chunk: BinaryIO, path: Path) -> None:
    chunk.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(chunk, out)


def _inspect(path: Path) -> _Inspection:
    """Whether PyAV finds an audio stream, how long it lasts, and a suffix for the container."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, OSError):
        return _Inspection(has_audio=False)
    with container:
        if not container.streams.audio:
            return _Inspection(has_audio=False)
        suffix = f".{container.format.name.split(',')[0]}"
        seconds = audio.probe_duration(path)
        if seconds is None:
            seconds = _demuxed_seconds(container)
    return _Inspection(has_audio=True, seconds=seconds, suffix=suffix)


def _demuxed_seconds(container: av.container.InputContainer) -> float | None:
    # Browser recordings (MediaRecorder webm) declare no duration: read packet times, decoding nothing.
    stream = container.streams.audio[0]
    end = None
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.time_base is not None:
                stop = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                end = stop if end is None else max(end, stop)
    except (av.error.FFmpegError, ValueError):
        pass  # a damaged tail: the time read so far stands, and decoding will judge the rest
    return end
