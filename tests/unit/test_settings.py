from pathlib import Path

import pytest

from reflector.settings import SettingsError, load_settings
from reflector.supervisor import PROCESSES
from tests.paths import REPO


def test_environment_overrides_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("PORT=2000\nLLM_BACKEND=openai\n# a comment\nexport LLM_URL='http://127.0.0.1:8000'\n")
    settings = load_settings({"PORT": "3000", "DATA_DIR": "/srv/reflector"}, dotenv=dotenv)
    assert settings.server.port == 3000
    assert settings.llm.backend == "openai"
    assert settings.llm.url == "http://127.0.0.1:8000"
    assert settings.data_dir == Path("/srv/reflector")
    assert settings.database.url is None  # reflector run will start a private server


def test_a_bad_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="LLM_BACKEND='gpt'"):
        load_settings({"LLM_BACKEND": "gpt"}, dotenv=Path("/nonexistent"))
    with pytest.raises(SettingsError, match="PORT="):
        load_settings({"PORT": "eighty"}, dotenv=Path("/nonexistent"))


def test_procfile_lists_the_processes_reflector_run_starts() -> None:
    procfile = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        procfile[name.strip()] = command.split()
    assert procfile == {name: ["reflector", *argv] for name, argv in PROCESSES.items()}


def test_a_webrtc_port_range_is_read_and_a_bad_one_refused() -> None:
    settings = load_settings({"WEBRTC_PORT_RANGE": "50000-50100"}, dotenv=Path("/nonexistent"))
    assert settings.server.webrtc_ports == range(50000, 50101)
    assert load_settings({}, dotenv=Path("/nonexistent")).server.webrtc_ports is None
    for bad in ("50000", "50100-50000", "a-b", "0-10", "60000-70000"):
        with pytest.raises(SettingsError, match="WEBRTC_PORT_RANGE="):
            load_settings({"WEBRTC_PORT_RANGE": bad}, dotenv=Path("/nonexistent"))
