"""Load llama.cpp with the CPU code that suits the CPU this process runs on.

The set-up builds llama.cpp's CPU code once per instruction-set level (`scripts/portable_wheels.py`),
as ggml backend modules beside `libggml.so`. ggml scores each module against the running CPU and
loads the best; it only looks beside the Python executable and in the working directory by itself,
so it is pointed at the package's own lib directory here, before any model is loaded. A llama.cpp
built another way (CPU code linked in) already has its backend and is left as it is.
"""

import ctypes
import os
import threading
from pathlib import Path
from types import ModuleType

import structlog

from reflector.pipelines.protocols import ModelUnavailable

log = structlog.get_logger(__name__)

_loaded = threading.Lock()


def import_llama_cpp() -> ModuleType:
    """The `llama_cpp` module, with a CPU backend loaded; raises ModelUnavailable when it has none."""
    try:
        import llama_cpp  # loads libllama and the libggml it is linked with
    except ImportError as exc:
        raise ModelUnavailable(
            "llama-cpp-python is not installed; run `make setup` (or `python scripts/portable_wheels.py`) "
            "or set LLM_BACKEND=openai with LLM_URL"
        ) from exc
    libggml = _linked_ggml()
    libggml.ggml_backend_reg_count.restype = ctypes.c_size_t
    with _loaded:
        if libggml.ggml_backend_reg_count() == 0:
            libggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
            libggml.ggml_backend_load_all_from_path(str(lib_dir()).encode())
            log.info("llm.cpu_backend", variant=cpu_variant())
        if libggml.ggml_backend_reg_count() == 0:
            raise ModelUnavailable(
                f"llama.cpp found no CPU backend it can run on this CPU in {lib_dir()}; "
                "reinstall it with `python scripts/portable_wheels.py`"
            )
    return llama_cpp


def _linked_ggml() -> ctypes.CDLL:
    """The libggml instance libllama uses. A wheel stores `libggml.so` and `libggml.so.0` as two copies of
    one file, and llama_cpp's own `_ggml` module loads the other copy: backends registered there stay
    unknown to llama.cpp. Opened by its soname, without loading, it is the one libllama linked."""
    for path in sorted(lib_dir().glob("libggml.so.*"), key=lambda p: len(p.name)):
        try:
            return ctypes.CDLL(path.name, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        except OSError:
            continue
    from llama_cpp import _ggml

    return _ggml.libggml


def lib_dir() -> Path:
    import llama_cpp

    return Path(llama_cpp.__file__).parent / "lib"


def cpu_variants() -> list[Path]:
    """The CPU backend modules the set-up built (none when llama.cpp has its CPU code linked in)."""
    return sorted(lib_dir().glob("libggml-cpu-*.so"))


def cpu_variant() -> str | None:
    """The name of the CPU variant ggml chooses on this machine (the module with the best score)."""
    best: tuple[int, str] | None = None
    for path in cpu_variants():
        module = ctypes.CDLL(str(path))
        score_fn = getattr(module, "ggml_backend_score", None)
        if score_fn is None:
            continue
        score_fn.restype = ctypes.c_int
        score = score_fn()
        if score > 0 and (best is None or score > best[0]):
            best = (score, path.name.removeprefix("libggml-cpu-").removesuffix(".so"))
    return best[1] if best else None
