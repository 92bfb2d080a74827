"""Find instructions in a shared library that a CPU may not run: AMX tiles anywhere, AVX-512 (EVEX).

Reads `objdump -d` with the raw bytes: in 64-bit mode an instruction whose first opcode byte (after
legacy prefixes) is 0x62 is EVEX-encoded, which only AVX-512 CPUs decode; AMX instructions are told
by their mnemonics.
"""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

AMX = re.compile(r"\b(ldtilecfg|sttilecfg|tilerelease|tilezero|tileloadd|tileloaddt1|tilestored|tdp\w+)\b")
LEGACY_PREFIXES = {"66", "67", "f2", "f3", "2e", "36", "3e", "26", "64", "65", "f0"}
# With --no-addresses --wide: "\t62 f1 7c 48 10 06 \tvmovups (%rsi),%zmm0"
LINE = re.compile(r"^\t((?:[0-9a-f]{2} )+)\s*\t(.*)$")


@dataclass(frozen=True)
class Findings:
    amx: list[str]
    avx512: list[str]


def scan(library: Path, keep: int = 3) -> Findings:
    """Up to `keep` examples of each kind of instruction found in the library's code."""
    amx: list[str] = []
    avx512: list[str] = []
    with subprocess.Popen(
        ["objdump", "-d", "--no-addresses", "--wide", str(library)], stdout=subprocess.PIPE, text=True
    ) as dump:
        assert dump.stdout is not None
        for line in dump.stdout:
            match = LINE.match(line)
            if match is None:
                continue
            raw, text = match.groups()
            if len(amx) < keep and AMX.search(text):
                amx.append(text.strip())
            if len(avx512) < keep and _is_evex(raw.split()):
                avx512.append(text.strip())
    return Findings(amx=amx, avx512=avx512)


def _is_evex(raw: list[str]) -> bool:
    for byte in raw:
        if byte in LEGACY_PREFIXES:
            continue
        return byte == "62" and len(raw) >= 6
    return False
