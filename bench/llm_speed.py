"""The embedded LLM's prompt and generation speed: the installed (portable) llama.cpp against another
build of it, on the same machine, in the same run.

    .venv/bin/python bench/llm_speed.py [--baseline DIR] [--threads 2] [--repeat 2]

DIR holds another llama_cpp package (say a native build: `CMAKE_ARGS=-DGGML_NATIVE=ON pip wheel
--no-binary llama-cpp-python llama-cpp-python==0.3.36`, then `pip install --no-deps --target DIR` it).
Each build runs in its own process on the same ~1,800-token meeting prompt and writes 128 tokens;
the figures are llama.cpp's own counters (best of --repeat).
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from reflector.pipelines.llm_native import cpu_variant, import_llama_cpp
from reflector.pipelines.model_files import resolve_llm_model_path
from reflector.settings import load_settings

llama_cpp = import_llama_cpp()
settings = load_settings()
path = resolve_llm_model_path(settings.llm.model_path, settings.models_dir)
threads = int(sys.argv[2])
llm = llama_cpp.Llama(model_path=str(path), n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False)
prompt = sys.stdin.read()
best = None
for _ in range(int(sys.argv[3])):
    llm.reset()
    llama_cpp.llama_perf_context_reset(llm.ctx)
    llm.create_completion(prompt, max_tokens=128, temperature=0.0)
    perf = llama_cpp.llama_perf_context(llm.ctx)
    figures = {
        "prompt_tokens": perf.n_p_eval, "prompt_tok_s": perf.n_p_eval / perf.t_p_eval_ms * 1000,
        "generated": perf.n_eval, "gen_tok_s": perf.n_eval / perf.t_eval_ms * 1000,
    }
    if best is None or figures["prompt_tok_s"] > best["prompt_tok_s"]:
        best = figures
best["library"] = llama_cpp.__file__
best["variant"] = cpu_variant() or "built in"
print(json.dumps(best))
"""


def prompt() -> str:
    lines = [line.split(maxsplit=5)[-1] for line in (DATA / "synthetic" / "standup.stm").read_text().splitlines()]
    lecture = (DATA / "real" / "physicsworks.txt").read_text()
    body = " ".join(lines) + "\n" + lecture + "\n" + " ".join(lines)
    return f"Meeting transcript:\n{body}\n\nWrite a one-paragraph summary of this meeting.\nSummary:"


def measure(pythonpath: str | None, threads: int, repeat: int) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(REPO), str(threads), str(repeat)],
        input=prompt(),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the build at {pythonpath or 'the venv'} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, default=None, help="folder holding another llama_cpp build")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    print(f"CPU: {cpu}; {args.threads} threads")
    rows = [("installed", measure(None, args.threads, args.repeat))]
    if args.baseline:
        rows.append((f"baseline {args.baseline}", measure(str(args.baseline), args.threads, args.repeat)))
    print(f"{'build':<40} {'CPU code':<12} {'prompt tok/s':>12} {'gen tok/s':>10}  (prompt tokens, generated)")
    for name, r in rows:
        print(
            f"{name:<40} {r['variant']:<12} {r['prompt_tok_s']:>12.1f} {r['gen_tok_s']:>10.1f}"
            f"  ({r['prompt_tokens']}, {r['generated']})"
        )
    if len(rows) == 2:
        a, b = rows[0][1], rows[1][1]
        print(
            f"installed / baseline: prompt {a['prompt_tok_s'] / b['prompt_tok_s']:.2f}x, "
            f"generation {a['gen_tok_s'] / b['gen_tok_s']:.2f}x"
        )


if __name__ == "__main__":
    main()
