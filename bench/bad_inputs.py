"""The malformed recordings of the fault suite's R2, built on the fly from ../shared/data.

Each case says what a person may see: a one-sentence error (`error`), or a transcript (`ended`: a damaged
file keeps what decoded before the damage, a file whose extension lies is read for what it is).
"""

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import av
import msgspec
import numpy as np

from tests.media import video_without_audio

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MP3 = DATA / "real" / "hello_48k_stereo.mp3"


class Case(msgspec.Struct, frozen=True):
    name: str
    build: Callable[[Path], Path]
    accepted: frozenset[str]  # "error" (a sentence), "ended"


def _raw_wav(path: Path, rate: int, channels: int, seconds: float, declared_frames: int | None = None) -> Path:
    """A PCM WAV written by hand, so that its header can say anything."""
    frames = int(rate * seconds)
    data = (np.sin(np.arange(frames * channels) * 0.05) * 8000).astype("<i2").tobytes()
    declared = (frames if declared_frames is None else declared_frames) * channels * 2
    header = b"RIFF" + struct.pack("<I", 36 + declared) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16)
    path.write_bytes(header + b"data" + struct.pack("<I", declared) + data)
    return path


def _truncated(fraction: float) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        data = MP3.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])
        return path

    return build


def _bytes(content: bytes) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        path.write_bytes(content)
        return path

    return build


def _silence_flac(seconds: float) -> Callable[[Path], Path]:
    """Hours of silence in a few hundred kB: a tiny file that decodes to a lot."""

    def build(path: Path) -> Path:
        with av.open(str(path), "w", format="flac") as out:
            stream = out.add_stream("flac", rate=16000, layout="mono")
            block = np.zeros((1, 16000 * 60), dtype=np.int16)
            for minute in range(int(seconds // 60)):
                frame = av.AudioFrame.from_ndarray(block, format="s16", layout="mono")
                frame.sample_rate, frame.pts = 16000, minute * 16000 * 60
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        return path

    return build


PNG = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0) + b"\0" * 4
ERROR, ENDED, EITHER = frozenset({"error"}), frozenset({"ended"}), frozenset({"error", "ended"})

CASES = [
    Case("empty file", _bytes(b""), ERROR),
    Case("mp3 cut at 10 %", _truncated(0.10), EITHER),
    Case("mp3 cut at 50 %", _truncated(0.50), ENDED),
    Case("mp3 cut at 90 %", _truncated(0.90), ENDED),
    Case("wav named .mp3", lambda p: _raw_wav(p, 16000, 1, 3.0), ENDED),
    Case("text named .mp3", _bytes(b"These are my meeting notes, not a recording.\n" * 40), ERROR),
    Case("PDF named .mp3", _bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" * 20), ERROR),
    Case("PNG named .mp3", _bytes(PNG * 4), ERROR),
    Case("zlib stream named .mp3", _bytes(zlib.compress(b"\0" * 50_000_000, 9)), ERROR),
    Case("video without audio", video_without_audio, ERROR),
    Case("0.1 s of audio", lambda p: _raw_wav(p, 16000, 1, 0.1), ERROR),
    Case("1 Hz sample rate", lambda p: _raw_wav(p, 1, 1, 30), EITHER),
    Case("768 kHz sample rate", lambda p: _raw_wav(p, 768_000, 1, 2.0), ENDED),
    Case("8 channels", lambda p: _raw_wav(p, 16000, 8, 3.0), ENDED),
    Case("wav header 100x too long", lambda p: _raw_wav(p, 16000, 1, 3.0, declared_frames=16000 * 300), ENDED),
    Case("wav header claims 0.06 s", lambda p: _raw_wav(p, 16000, 1, 3.0, declared_frames=1000), EITHER),
    Case("3 hours of silence (flac)", _silence_flac(3 * 3600), ENDED),
]


def suffix_of(case: Case) -> str:
    if "video" in case.name:
        return ".mp4"
    if "flac" in case.name:
        return ".flac"
    if case.name.startswith(("wav", "1 Hz", "768", "8 ch", "0.1")) and "named" not in case.name:
        return ".wav"
    return ".mp3"
