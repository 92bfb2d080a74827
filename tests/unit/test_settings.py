from pathlib import Path

import pytest

from reflector.entrypoints.supervisor import PROCESSES
from reflector.settings import (
    DEFAULT_WEB_PROCESSES_MAX,
    SettingsError,
    exposure_refusal,
    load_settings,
    usable_cores,
)
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


def test_without_accounts_every_origin_and_every_network_are_refused() -> None:
    with pytest.raises(SettingsError, match="CORS_ORIGIN=\\* with AUTH_BACKEND=none"):
        load_settings({"CORS_ORIGIN": "*"}, dotenv=Path("/nonexistent"))
    assert load_settings(
        {"CORS_ORIGIN": "http://localhost:3000/"}, dotenv=Path("/nonexistent")
    ).server.cors_origin_list == ["http://localhost:3000"]
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert exposure_refusal(load_settings({"HOST": host}, dotenv=Path("/nonexistent"))) is None, host
    for host in ("0.0.0.0", "::", "192.168.1.20", "reflector.lan"):
        refusal = exposure_refusal(load_settings({"HOST": host}, dotenv=Path("/nonexistent")))
        assert refusal is not None and "anyone who can reach port 1250" in refusal, host
    allowed = load_settings({"HOST": "0.0.0.0", "ALLOW_UNAUTHENTICATED_NETWORK": "true"}, dotenv=Path("/nonexistent"))
    assert exposure_refusal(allowed) is None


def test_allowed_hosts_default_to_loopback_and_the_base_url() -> None:
    default = load_settings({"BASE_URL": "https://Meet.Example.org/reflector"}, dotenv=Path("/nonexistent"))
    assert default.server.allowed_host_list == ["127.0.0.1", "::1", "[::1]", "localhost", "meet.example.org"]
    named = load_settings({"ALLOWED_HOSTS": "a.example, *.b.example"}, dotenv=Path("/nonexistent"))
    assert named.server.allowed_host_list == ["a.example", "*.b.example"]


def test_video_platforms_are_read_and_offered_once_configured() -> None:
    none = load_settings({}, dotenv=Path("/nonexistent")).platforms
    assert none.available == [] and none.daily_api_url == "https://api.daily.co/v1"
    platforms = load_settings(
        {
            "DAILY_API_KEY": "dk",
            "DAILY_API_URL": "http://127.0.0.1:9001/v1",
            "DAILY_WEBHOOK_SECRET": "c2VjcmV0",
            "DAILY_SUBDOMAIN": "team",
            "WHEREBY_API_KEY": "wk",
            "WHEREBY_WEBHOOK_SECRET": "ws",
            "LIVEKIT_URL": "wss://meet.example.org",
            "LIVEKIT_API_KEY": "APIkey",
            "LIVEKIT_API_SECRET": "secret",
        },
        dotenv=Path("/nonexistent"),
    ).platforms
    assert platforms.available == ["daily", "whereby", "livekit"]
    assert (platforms.daily_api_url, platforms.daily_webhook_secret, platforms.daily_subdomain) == (
        "http://127.0.0.1:9001/v1",
        "c2VjcmV0",
        "team",
    )
    assert platforms.whereby_webhook_secret == "ws" and platforms.livekit_api_secret == "secret"


def test_a_platform_setting_that_could_only_fail_later_is_refused_now() -> None:
    with pytest.raises(SettingsError, match="DAILY_WEBHOOK_SECRET is not base64"):
        load_settings({"DAILY_WEBHOOK_SECRET": "not base64!"}, dotenv=Path("/nonexistent"))
    with pytest.raises(SettingsError, match="LiveKit needs LIVEKIT_API_SECRET as well"):
        load_settings({"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "k"}, dotenv=Path("/nonexistent"))
    with pytest.raises(SettingsError, match=r"WHEREBY_API_URL='api\.whereby\.dev': expected an http"):
        load_settings({"WHEREBY_API_URL": "api.whereby.dev"}, dotenv=Path("/nonexistent"))


def test_web_processes_default_to_the_cores_a_cpu_quota_leaves(tmp_path: Path) -> None:
    on_affinity = usable_cores(tmp_path / "no-cgroup")
    assert on_affinity >= 1
    (tmp_path / "cpu.max").write_text("max 100000\n")  # no quota
    assert usable_cores(tmp_path) == on_affinity
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a core (docker --cpus=0.5)
    assert usable_cores(tmp_path) == 1
    (tmp_path / "cpu.max").write_text(f"{150000 * on_affinity} 100000\n")  # more than the cores there are
    assert usable_cores(tmp_path) == on_affinity
    # At most DEFAULT_WEB_PROCESSES_MAX web processes unless WEB_CONCURRENCY says otherwise.
    default = load_settings({}, dotenv=tmp_path / ".env").server.web_concurrency
    assert default == min(usable_cores(), DEFAULT_WEB_PROCESSES_MAX)
    assert load_settings({"WEB_CONCURRENCY": "12"}, dotenv=tmp_path / ".env").server.web_concurrency == 12
