"""What the set-up compiled runs on any x86-64-v3 CPU: no AMX anywhere, AVX-512 only inside the
llama.cpp CPU variants that ggml loads when the running CPU has it; the embedded LLM loads one."""

import importlib.metadata
import importlib.util
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from reflector.pipelines.llm import EmbeddedLLM
from reflector.pipelines.llm_native import cpu_variant, cpu_variants, import_llama_cpp
from reflector.pipelines.model_files import assemble_llm_weights
from reflector.pipelines.protocols import ChatMessage
from tests.native_code import scan
from tests.paths import REPO

# ggml's x86 CPU variants whose score requires AVX-512: the only code allowed to hold it.
AVX512_VARIANTS = {"skylakex", "cannonlake", "cascadelake", "icelake", "cooperlake", "zen4"}


def _portable_wheels() -> ModuleType:
    spec = importlib.util.spec_from_file_location("portable_wheels", REPO / "scripts" / "portable_wheels.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _built_libraries() -> list[Path]:
    """Every shared library of the packages the set-up compiles."""
    found = []
    for build in _portable_wheels().BUILDS:
        files = importlib.metadata.files(build.name) or []
        found += [Path(str(f.locate())) for f in files if f.name.endswith(".so") or ".so." in f.name]
    return sorted(set(found))


def _compile(tmp_path: Path, name: str, code: str, *flags: str) -> Path:
    source, library = tmp_path / f"{name}.c", tmp_path / f"lib{name}.so"
    source.write_text("#include <immintrin.h>\n" + code)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", *flags, str(source), "-o", str(library)], check=True)
    return library


def test_the_checker_finds_amx_and_avx512_and_passes_x86_64_v3(tmp_path: Path) -> None:
    tiles = _compile(tmp_path, "tiles", "void tiles(void) { _tile_zero(4); }\n", "-mamx-tile")
    wide = "__m512 wide(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }\n"
    narrow = "__m256 narrow(__m256 a, __m256 b) { return _mm256_fmadd_ps(a, b, a); }\n"
    assert scan(tiles).amx == ["tilezero %tmm4"]
    assert "zmm" in scan(_compile(tmp_path, "wide", wide, "-mavx512f")).avx512[0]
    v3 = scan(_compile(tmp_path, "v3", narrow, "-march=x86-64-v3"))
    assert v3.amx == [] and v3.avx512 == []
    # AVX-512 on 256-bit registers (AVX-512VL) is told by its EVEX encoding, not by a zmm register.
    masked = "__m256 masked(__m256 a, __m256 b, __mmask8 m) { return _mm256_mask_add_ps(a, m, a, b); }\n"
    found = scan(_compile(tmp_path, "masked", masked, "-mavx512f", "-mavx512vl")).avx512
    assert found and "ymm" in found[0] and "zmm" not in found[0], found


def test_the_installed_native_packages_are_the_portable_builds() -> None:
    for build in _portable_wheels().BUILDS:
        assert importlib.metadata.version(build.name) == build.local_version(), (
            f"{build.name} is not the portable build: run `make setup` (scripts/portable_wheels.py)"
        )


def test_no_built_library_holds_amx_or_undispatched_avx512() -> None:
    libraries = _built_libraries()
    names = {p.name for p in libraries}
    assert any(n.startswith("libllama") for n in names) and any("fbank_extractor" in n for n in names), names
    assert not any("sapphirerapids" in n for n in names), "the AMX variant must not be installed"
    problems, wide_variants = [], set()
    for library in libraries:
        found = scan(library)
        variant = library.name.removeprefix("libggml-cpu-").removesuffix(".so")
        if found.avx512:
            wide_variants.add(variant)
        if found.amx:
            problems.append(f"{library}: AMX tile instructions, e.g. {found.amx}")
        if found.avx512 and variant not in AVX512_VARIANTS:
            problems.append(f"{library}: AVX-512 outside a dispatched variant, e.g. {found.avx512}")
    assert not problems, "\n".join(problems)
    # The scan sees AVX-512 where it is meant to be: the variants ggml loads only on such CPUs.
    assert wide_variants == AVX512_VARIANTS, wide_variants


def test_the_llm_runs_the_best_cpu_variant_this_cpu_has() -> None:
    llama_cpp = import_llama_cpp()
    assert cpu_variants(), "llama.cpp was built without its CPU variants"
    variant = cpu_variant()
    assert variant is not None
    flags = set(Path("/proc/cpuinfo").read_text().split())
    if "avx512f" in flags and "avx512_bf16" in flags and "avx512vbmi" in flags:
        assert variant in {"zen4", "cooperlake", "icelake"}, variant
    elif "avx2" in flags:
        assert variant in {"haswell", "alderlake"} | AVX512_VARIANTS, variant
    else:
        pytest.skip("a CPU below x86-64-v3")
    # The variant is registered where llama.cpp looks for it: the model loads and writes.
    llm = EmbeddedLLM(assemble_llm_weights(REPO / "data" / "models"), context_window=512)
    assert llm.complete([ChatMessage("user", "Say hello.")], max_tokens=8).strip()
    assert llama_cpp.llama_supports_mmap()


EMULATED = """
import sys
from reflector.pipelines.llm_native import cpu_variant, import_llama_cpp
llama_cpp = import_llama_cpp()
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=64, n_threads=2, n_batch=8, verbose=False)
text = llm.create_completion("The capital of France is", max_tokens=2, temperature=0)["choices"][0]["text"]
print(cpu_variant(), repr(text))
"""


@pytest.mark.skipif(
    shutil.which("qemu-x86_64") is None or platform.machine() != "x86_64", reason="needs Debian's qemu-user"
)
def test_the_llm_writes_on_an_emulated_cpu_without_avx512() -> None:
    """A Haswell (x86-64-v3, no AVX-512, no AMX) emulated by qemu: ggml loads the haswell variant and the
    model writes. A llama.cpp built natively on an AVX-512 machine dies there with SIGILL (exit 132)."""
    model = assemble_llm_weights(REPO / "data" / "models")
    command = ["qemu-x86_64", "-cpu", "Haswell-v4", sys.executable, "-c", EMULATED, str(model)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    variant, text = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert variant == "haswell" and "paris" in text.lower(), done.stdout
