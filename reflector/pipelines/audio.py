"""Audio in and out: any container PyAV reads -> 16 kHz mono float32, plus waveform and mp3 for playback."""

import contextlib
import math
import mmap
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import structlog

from reflector.pipelines.protocols import AudioError

log = structlog.get_logger(__name__)

SAMPLE_RATE = 16000
MIN_DURATION = 0.5  # seconds; below this there is nothing to transcribe or diarize
MIN_PEAKS = 255  # Reflector's fixed count, kept as the floor so short files look the same
MAX_PEAKS = 4000
# Samples worked on at a time where a whole recording would be copied otherwise (a minute).
BLOCK = 60 * SAMPLE_RATE
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)

UNREADABLE = "This is not an audio or video file we can read. Upload a recording such as mp3, wav, m4a or webm."


def decode(path: str | Path, *, mapped: bool = False) -> np.ndarray:
    """The first audio stream of `path` as 16 kHz mono float32 in [-1, 1]; AudioError with a sentence if not.

    `mapped`: the samples are written, as they decode, to an unnamed file in TMPDIR and the array reads
    them from there (read-only), so a long recording is never held whole in memory (3 hours are 0.69 GB
    of float32): the pages read stay in the kernel's page cache, which it can drop, and `paged_out`
    takes them out of the process while the models read it. The file is gone when the array is."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"The file {path.name} does not exist.")
    if path.stat().st_size == 0:
        raise AudioError("The file is empty (0 bytes). Upload the recording again.")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        log.info("audio.open_failed", path=str(path), error=str(exc))
        raise AudioError(UNREADABLE) from exc
    with container:
        if not container.streams.audio:
            raise AudioError("This file has no audio track, so there is nothing to transcribe.")
        blocks = _decoded_blocks(container, container.streams.audio[0], path)
        audio = into_file(blocks) if mapped else _joined(blocks)
    if duration_of(audio) < MIN_DURATION:
        raise AudioError(
            f"The recording is too short ({duration_of(audio):.1f} s): it needs at least {MIN_DURATION} s of audio."
        )
    return audio


def _joined(blocks: Iterator[np.ndarray]) -> np.ndarray:
    chunks = list(blocks)
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def into_file(blocks: Iterator[np.ndarray]) -> np.ndarray:
    """float32 `blocks` written to an unnamed file in TMPDIR, read back as one read-only array mapped on it."""
    # O_TMPFILE where the system has it: no name, so nothing is left behind by a killed process, and the
    # mapping keeps the file until the last array reading it is gone.
    with tempfile.TemporaryFile(prefix="reflector-samples-") as file:
        for block in blocks:
            file.write(block.tobytes())
        size = file.tell()
        if size == 0:
            return np.zeros(0, dtype=np.float32)
        file.flush()
        mapping = mmap.mmap(file.fileno(), size, access=mmap.ACCESS_READ)
    return np.frombuffer(mapping, dtype=np.float32)


def silence_in_file(count: int) -> np.ndarray:
    """`count` zero samples in an unnamed file in TMPDIR, mapped writable: an array as long as a recording
    (a mixdown) that the kernel can page out, as `paged_out` does, instead of holding it in memory."""
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    with tempfile.TemporaryFile(prefix="reflector-samples-") as file:
        file.truncate(count * 4)  # a sparse file reads as zeros
        mapping = mmap.mmap(file.fileno(), count * 4)
    return np.frombuffer(mapping, dtype=np.float32)


@contextlib.contextmanager
def paged_out(samples: np.ndarray, every_s: float = 1.0) -> Iterator[None]:
    """While the block runs, hand the pages of `mapped` samples read so far back to the page cache every
    `every_s`. A file mapping loses nothing by it: a page read again is mapped again from the cache (or from
    the file if the kernel dropped it), and a page written stays in the cache until it reaches the file.
    Without it every page the VAD, the transcriber and the diarizer have read stays resident in the process
    until the recording is done. In-memory samples: nothing to do."""
    mapping = samples.base
    while isinstance(mapping, np.ndarray):
        mapping = mapping.base
    mapping = mapping.obj if isinstance(mapping, memoryview) else mapping  # np.frombuffer's view of the map
    if not isinstance(mapping, mmap.mmap):
        yield
        return
    done = threading.Event()

    def page_out() -> None:
        while not done.wait(every_s):
            mapping.madvise(mmap.MADV_DONTNEED)

    pager = threading.Thread(target=page_out, name="samples-pager", daemon=True)
    pager.start()
    try:
        yield
    finally:
        done.set()
        pager.join()
        mapping.madvise(mmap.MADV_DONTNEED)


def probe_duration(path: str | Path) -> float | None:
    """The duration a file's header declares, in seconds, without decoding; None when unknown."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / av.time_base
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, OSError):
        return None
    return None


def _decoded_blocks(container: av.container.InputContainer, stream: av.AudioStream, path: Path) -> Iterator[np.ndarray]:
    """Decoded, resampled frames in [-1, 1]; a file cut short keeps what decoded before the damage."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    decoded = 0
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                for out in resampler.resample(frame):
                    block = _clipped(out)
                    decoded += len(block)
                    yield block
    except (av.error.FFmpegError, ValueError) as exc:
        if not decoded:
            log.info("audio.decode_failed", path=str(path), error=str(exc))
            raise AudioError("The audio in this file could not be decoded: it may be damaged or cut short.") from exc
        log.warning("audio.truncated", path=str(path), error=str(exc), decoded_s=round(decoded / SAMPLE_RATE, 2))
    for out in resampler.resample(None):
        yield _clipped(out)


def _clipped(frame: av.AudioFrame) -> np.ndarray:
    # The resampler's downmix of loud stereo can exceed full scale; models expect [-1, 1].
    samples = frame.to_ndarray()[0]
    return np.clip(samples, -1.0, 1.0, out=samples)


def duration_of(audio: np.ndarray) -> float:
    return len(audio) / SAMPLE_RATE


def peak_count(duration: float) -> int:
    """About one peak a second: 255 at least (as Reflector), capped so the JSON stays small."""
    return max(MIN_PEAKS, min(MAX_PEAKS, math.ceil(duration)))


def waveform(audio: np.ndarray, peaks: int | None = None) -> list[float]:
    """Peak absolute level of `peaks` equal chunks, normalised to the loudest, 2 decimals."""
    count = peaks or peak_count(duration_of(audio))
    if len(audio) == 0:
        return [0.0] * count
    bounds = np.linspace(0, len(audio), count + 1).astype(np.int64)
    starts = np.minimum(bounds[:-1], len(audio) - 1)
    # One chunk at a time: a whole-array abs() would copy a long recording (0.69 GB on 3 hours).
    levels = np.array([np.abs(audio[a : max(b, a + 1)]).max() for a, b in zip(starts, bounds[1:], strict=True)])
    top = float(levels.max())
    if top == 0.0:
        return [0.0] * count
    return [round(float(v), 2) for v in levels / top]


def encode_mp3(source: np.ndarray | str | Path, dest: str | Path, bitrate: int = 64_000) -> Path:
    """Write an mp3 for the player: a decoded array as 16 kHz mono, a file at its own rate."""
    dest = Path(dest)
    if isinstance(source, np.ndarray):
        _encode_array(source, dest, bitrate)
    else:
        _transcode_file(Path(source), dest, bitrate)
    return dest


def _encode_array(audio: np.ndarray, dest: Path, bitrate: int) -> None:
    with av.open(str(dest), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=SAMPLE_RATE, layout="mono")
        stream.bit_rate = bitrate
        block = SAMPLE_RATE  # one second per frame keeps Python overhead negligible
        for offset in range(0, len(audio), block):
            samples = np.clip(audio[offset : offset + block], -1.0, 1.0).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = offset
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


@contextlib.contextmanager
def _audio_of(path: str | Path, no_audio: str) -> Iterator[tuple[Any, Any]]:
    """The opened recording and its first audio stream; AudioError(`no_audio`) when it has none."""
    try:
        source = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise AudioError(UNREADABLE) from exc
    with source:
        if not source.streams.audio:
            raise AudioError(no_audio)
        yield source, source.streams.audio[0]


def _transcode_file(path: Path, dest: Path, bitrate: int) -> None:
    with _audio_of(path, "This file has no audio track, so there is nothing to play.") as (source, stream_in):
        rate = stream_in.rate if stream_in.rate in MP3_RATES else 44100
        layout = "mono" if stream_in.channels == 1 else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        with av.open(str(dest), "w", format="mp3") as out:
            stream = out.add_stream("libmp3lame", rate=rate, layout=layout)
            stream.bit_rate = bitrate * (2 if layout == "stereo" else 1)
            try:
                for frame in source.decode(stream_in):
                    for resampled in resampler.resample(frame):
                        out.mux(stream.encode(resampled))
            except av.error.FFmpegError as exc:
                log.warning("audio.transcode_truncated", path=str(path), error=str(exc))
            for resampled in resampler.resample(None):
                out.mux(stream.encode(resampled))
            out.mux(stream.encode(None))


def audio_only(path: str | Path, dest: str | Path) -> Path:
    """A recording's first audio stream copied, not re-encoded, into a Matroska audio file (`.mka`): a
    composite video's sound without its picture."""
    no_audio = "This recording has no audio track, so there is nothing to transcribe."
    with _audio_of(path, no_audio) as (source, stream_in), av.open(str(dest), "w", format="matroska") as out:
        stream = out.add_stream_from_template(stream_in)
        for packet in source.demux(stream_in):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return Path(dest)
