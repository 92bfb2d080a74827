"""Audio in and out: any container PyAV reads -> 16 kHz mono float32, plus waveform and mp3 for playback."""

import contextlib
import math
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
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)

UNREADABLE = "This is not an audio or video file we can read. Upload a recording such as mp3, wav, m4a or webm."


def decode(path: str | Path) -> np.ndarray:
    """The first audio stream of `path` as 16 kHz mono float32 in [-1, 1]; AudioError with a sentence if not."""
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
        chunks = _decode_stream(container, container.streams.audio[0], path)
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    # The resampler's downmix of loud stereo can exceed full scale; models expect [-1, 1].
    np.clip(audio, -1.0, 1.0, out=audio)
    if duration_of(audio) < MIN_DURATION:
        raise AudioError(
            f"The recording is too short ({duration_of(audio):.1f} s): it needs at least {MIN_DURATION} s of audio."
        )
    return audio


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


def _decode_stream(container: av.container.InputContainer, stream: av.AudioStream, path: Path) -> list:
    """Decoded, resampled frames; a file cut short keeps what decoded before the damage."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray()[0])
    except (av.error.FFmpegError, ValueError) as exc:
        if not chunks:
            log.info("audio.decode_failed", path=str(path), error=str(exc))
            raise AudioError("The audio in this file could not be decoded: it may be damaged or cut short.") from exc
        log.warning("audio.truncated", path=str(path), error=str(exc), decoded_s=_seconds(chunks))
    for out in resampler.resample(None):
        chunks.append(out.to_ndarray()[0])
    return chunks


def _seconds(chunks: list[np.ndarray]) -> float:
    return round(sum(len(c) for c in chunks) / SAMPLE_RATE, 2)


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
    levels = np.maximum.reduceat(np.abs(audio), starts)
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
        samples = np.clip(audio, -1.0, 1.0).astype(np.float32)
        for offset in range(0, len(samples), block):
            frame = av.AudioFrame.from_ndarray(
                samples[offset : offset + block].reshape(1, -1), format="fltp", layout="mono"
            )
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
