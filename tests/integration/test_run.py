"""`reflector run` with nothing configured: private PostgreSQL and Redis under the data directory,
migrations, the web process and the workers; other commands join those services; SIGTERM stops
everything it started."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from reflector.pipelines.model_files import LLM_FILE_NAME
from tests.net import free_port
from tests.paths import REAL, REPO

pytestmark = pytest.mark.slow


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "DATA_DIR": str(data_dir)}
    env |= {"PORT": str(port), "LOG_LEVEL": "warning"}
    assembled = REPO / "data" / "models" / LLM_FILE_NAME
    if assembled.is_file():  # `make setup` assembled it already: no second 1 GB copy per test run
        env["LLM_MODEL_PATH"] = str(assembled)
    return env


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "reflector", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def _wait_healthy(run: subprocess.Popen[bytes], url: str, log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 180:
        assert run.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not healthy after 180 s:\n{log.read_text()[-3000:]}")


def _processes_under(data_dir: Path) -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(data_dir.resolve()) in cmdline and "pytest" not in cmdline:
            found.append(cmdline)
    return found


def _stop(run: subprocess.Popen[bytes], log: Path) -> None:
    run.send_signal(signal.SIGTERM)
    try:
        assert run.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)


def test_run_starts_everything_and_sigterm_stops_it_all(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    env, url, log = _env(data_dir, port), f"http://127.0.0.1:{port}", tmp_path / "run.log"
    command = [sys.executable, "-m", "reflector", "run"]

    with log.open("wb") as out:
        run = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        first = _wait_healthy(run, url, log)
        browse = httpx.get(url, timeout=5, follow_redirects=True)  # / is Browse, which reads the migrated database
        assert browse.status_code == 200 and "Transcripts" in browse.text
        assert (data_dir / "redis" / "redis.sock").exists() and (data_dir / "postgres" / "PG_VERSION").exists()

        # Another command joins the private services; the running worker processes the job.
        submitted = _cli("submit", str(REAL / "jfk.flac"), "--no-summary", "--no-diarize", "--wait", env=env)
        assert submitted.returncode == 0, submitted.stderr
        transcript_id = submitted.stdout.strip().splitlines()[-1]
        shown = _cli("show", transcript_id, "--format", "txt", env=env)
        assert shown.returncode == 0, shown.stderr
        assert "ask not what your country can do for you" in shown.stdout.lower()

        _a_killed_worker_comes_back_and_its_run_ends(run, url, env, log)

    finally:
        _stop(run, log)
    assert "Reflector is running" in log.read_text()
    assert _processes_under(data_dir) == []

    # A second start reuses the initialised database: seconds, not a fresh initdb.
    with log.open("ab") as out:
        run = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        second = _wait_healthy(run, url, log)
        listed = _cli("show", transcript_id, "--format", "txt", env=env)
        assert listed.returncode == 0 and "country" in listed.stdout, listed.stderr  # the data survived
    finally:
        _stop(run, log)
    assert _processes_under(data_dir) == []
    print(f"\nreflector run healthy after {first:.1f} s (first start), {second:.1f} s (second start)")


def _worker_of(run: subprocess.Popen[bytes]) -> psutil.Process | None:
    for child in psutil.Process(run.pid).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "worker --queues speech,llm" in " ".join(child.cmdline()):
                return child
        except psutil.Error:  # gone, or dead and not yet reaped by the supervisor
            continue
    return None


def _status(url: str, transcript_id: str) -> str:
    return httpx.get(f"{url}/v1/transcripts/{transcript_id}", timeout=5).json()["status"]


def _a_killed_worker_comes_back_and_its_run_ends(
    run: subprocess.Popen[bytes], url: str, env: dict[str, str], log: Path
) -> None:
    """SIGKILL the worker in the middle of a transcription: the web stays up, the supervisor starts the
    worker again within seconds, and the new worker takes the run back at once and finishes it."""
    submitted = _cli("submit", str(REAL / "physicsworks.wav"), "--no-summary", "--no-diarize", env=env)
    assert submitted.returncode == 0, submitted.stderr
    transcript_id = submitted.stdout.strip().splitlines()[-1]
    deadline = time.monotonic() + 60
    while _status(url, transcript_id) != "processing":
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.2)
    time.sleep(1.0)
    worker = _worker_of(run)
    assert worker is not None
    worker.kill()
    killed_at = time.monotonic()

    assert httpx.get(url, timeout=5, follow_redirects=True).status_code == 200  # the web never stopped
    while (back := _worker_of(run)) is None or back.pid == worker.pid:
        assert time.monotonic() - killed_at < 15, log.read_text()[-3000:]
        time.sleep(0.2)
    while (status := _status(url, transcript_id)) != "ended":
        assert status != "error" and time.monotonic() - killed_at < 120, log.read_text()[-3000:]
        time.sleep(0.5)
    text = log.read_text()
    assert "worker was killed by SIGKILL" in text
    assert "run.requeued" in text
    shown = _cli("show", transcript_id, "--format", "txt", env=env)
    assert "physics" in shown.stdout.lower(), shown.stdout[:500]
    print(f"\nkilled worker: run ended {time.monotonic() - killed_at:.1f} s after the kill")
