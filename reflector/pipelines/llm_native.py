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


def use_lazy_grammar(llama: object) -> None:
    """Make a llama_cpp.Llama sample grammar-constrained replies the way llama.cpp's own tools do.

    llama-cpp-python puts the grammar first in its sampler chain: every generated token the grammar
    checks all ~150,000 tokens of the vocabulary (Qwen's), tens of milliseconds a token on a small CPU,
    as long as the model's own step. llama.cpp's samplers instead pick a token without the grammar and
    ask the grammar about that one token; only when it is refused is the whole vocabulary filtered and
    the token picked again (the same rejection sampling as `common_sampler_sample`). The reply obeys the
    grammar either way.
    """
    init_sampler = getattr(llama, "_init_sampler", None)
    if init_sampler is None:  # another llama-cpp-python than the one the set-up pins: leave it as it is
        log.warning("llm.lazy_grammar_unavailable")
        return

    def _init_sampler(*args: object, grammar: object = None, **kwargs: object) -> object:
        chain = init_sampler(*args, **kwargs)
        return chain if grammar is None else _LazyGrammarSampler(llama, chain, grammar)

    llama._init_sampler = _init_sampler  # type: ignore[attr-defined]


class _LazyGrammarSampler:
    """Stands for llama_cpp's LlamaSampler in `Llama.sample`: `sample(ctx, idx)` picks and accepts a token."""

    def __init__(self, llama: object, chain: object, grammar: object) -> None:
        import llama_cpp
        import numpy as np

        self._lc = llama_cpp
        self._np = np
        self._chain = chain
        vocab = llama._model.vocab  # type: ignore[attr-defined]
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            vocab,
            grammar._grammar.encode("utf-8"),  # type: ignore[attr-defined]
            grammar._root.encode("utf-8"),  # type: ignore[attr-defined]
        )
        if not self._grammar:
            raise ValueError("llama.cpp could not parse the reply grammar")
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
        self._data = (llama_cpp.llama_token_data * self._n_vocab)()
        self._view = np.ctypeslib.as_array(self._data)
        self._ids = np.arange(self._n_vocab, dtype=np.int32)
        self._one = (llama_cpp.llama_token_data * 1)()

    def _candidates(self, ctx: object, idx: int) -> object:
        np = self._np
        logits = np.ctypeslib.as_array(self._lc.llama_get_logits_ith(ctx, idx), shape=(self._n_vocab,))
        self._view["id"] = self._ids
        self._view["logit"] = logits
        self._view["p"] = 0.0
        return self._lc.llama_token_data_array(self._data, self._n_vocab, -1, False)

    def _pick(self, candidates: object) -> int:
        selected = candidates.selected  # type: ignore[attr-defined]
        assert 0 <= selected < candidates.size  # type: ignore[attr-defined]
        return int(candidates.data[selected].id)  # type: ignore[attr-defined]

    def sample(self, ctx: object, idx: int = -1) -> int:
        lc = self._lc
        raw = ctx.ctx  # type: ignore[attr-defined]
        candidates = self._candidates(raw, idx)
        lc.llama_sampler_apply(self._chain.sampler, ctypes.byref(candidates))  # type: ignore[attr-defined]
        token = self._pick(candidates)
        self._one[0].id, self._one[0].logit, self._one[0].p = token, 1.0, 0.0
        single = lc.llama_token_data_array(self._one, 1, -1, False)
        lc.llama_sampler_apply(self._grammar, ctypes.byref(single))
        if single.data[0].logit == float("-inf"):  # refused: the grammar filters the whole vocabulary
            candidates = self._candidates(raw, idx)
            lc.llama_sampler_apply(self._grammar, ctypes.byref(candidates))
            lc.llama_sampler_apply(self._chain.sampler, ctypes.byref(candidates))  # type: ignore[attr-defined]
            token = self._pick(candidates)
        lc.llama_sampler_accept(self._grammar, token)
        lc.llama_sampler_accept(self._chain.sampler, token)  # type: ignore[attr-defined]
        return token

    def accept(self, token: int) -> None:
        self._lc.llama_sampler_accept(self._grammar, token)
        self._chain.accept(token)  # type: ignore[attr-defined]

    def reset(self) -> None:
        self._lc.llama_sampler_reset(self._grammar)
        self._chain.reset()  # type: ignore[attr-defined]

    def close(self) -> None:
        if self._grammar:
            self._lc.llama_sampler_free(self._grammar)
            self._grammar = None
        self._chain.close()  # type: ignore[attr-defined]

    def __del__(self) -> None:
        self.close()
