"""A WAV file written as audio arrives, readable at every moment: the header's sizes are brought up to
date every FLUSH_S of audio, so a process killed mid-meeting leaves a valid file of all but the last
moments (and decoders read a stale-sized WAV to its end anyway)."""

import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

FLUSH_S = 1.0
HEADER_BYTES = 44
SAMPLE_BYTES = 2


def seconds_written(path: Path, rate: int) -> float:
    """How much audio a GrowingWav file holds, from its size: after a crash its header may lag behind."""
    return max(0, path.stat().st_size - HEADER_BYTES) / SAMPLE_BYTES / rate


class GrowingWav:
    """16-bit PCM mono WAV at `rate`, appended to with float32 samples in [-1, 1]."""

    def __init__(self, path: Path, rate: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.rate = rate
        self._file: BinaryIO = path.open("wb")
        self._bytes = 0
        self._unflushed = 0
        self._write_header()

    @property
    def seconds(self) -> float:
        return self._bytes / SAMPLE_BYTES / self.rate

    def append(self, samples: np.ndarray) -> None:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        self._file.write(pcm)
        self._bytes += len(pcm)
        self._unflushed += len(pcm)
        if self._unflushed >= FLUSH_S * self.rate * SAMPLE_BYTES:
            self.flush()

    def flush(self) -> None:
        self._write_header()
        self._file.flush()
        self._unflushed = 0

    def close(self) -> None:
        if not self._file.closed:
            self.flush()
            self._file.close()

    def _write_header(self) -> None:
        at = self._file.tell()
        self._file.seek(0)
        # PCM (1), mono, rate, bytes per second, block align, bits per sample.
        fmt = struct.pack("<IHHIIHH", 16, 1, 1, self.rate, self.rate * SAMPLE_BYTES, SAMPLE_BYTES, 8 * SAMPLE_BYTES)
        self._file.write(
            b"RIFF" + struct.pack("<I", 36 + self._bytes) + b"WAVE"
            + b"fmt " + fmt
            + b"data" + struct.pack("<I", self._bytes)
        )  # fmt: skip
        self._file.seek(max(at, HEADER_BYTES))
