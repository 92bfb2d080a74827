"""The deployment files (deploy/): each valid by its own schema (the compose specification, the Kubernetes
API's), every Reflector process given only settings Reflector reads, in values it accepts, secrets only by
reference, and the worker autoscaler reading a figure the web process's /metrics exports."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

from reflector.settings import _ENV, Settings, exposure_refusal, load_settings
from tests.paths import REPO

DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
# The oldest Kubernetes the manifests are meant for, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
# Settings that carry a password or a key: never a value written in a file, in Kubernetes a Secret's key.
SECRETS = re.compile(r"^(DATABASE_URL|REDIS_URL|.*(SECRET|PASSWORD|API_KEY|ACCESS_KEY).*)$")
# What a secret reference or a compose variable stands for here: long enough for SECRET_KEY.
PLACEHOLDER = "placeholder-" + "x" * 32


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _manifests() -> list[dict[str, Any]]:
    kustomization = _documents(KUBERNETES / "kustomization.yaml")[0]
    return [doc for name in kustomization["resources"] for doc in _documents(KUBERNETES / name)]


def _image_env() -> dict[str, str]:
    """The settings the Dockerfile's ENV lines give every container of the image."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.split(None, 1)[1] for line in text.splitlines() if line.startswith("ENV ")]
    return dict(pair.split("=", 1) for line in lines for pair in line.split())


def _loaded(environment: dict[str, str]) -> Settings:
    """The settings a process given `environment` runs with, as `reflector` loads them at its start."""
    unknown = sorted(set(environment) - set(_ENV))
    assert not unknown, f"not settings Reflector reads: {unknown}"
    return load_settings({**_image_env(), **environment}, dotenv=Path("/nonexistent"))


def _compose_value(value: object) -> str:
    """A compose value with its ${VAR:?…} and ${VAR:-default} variables put in, as `docker compose` does."""

    def put(match: re.Match[str]) -> str:
        return match.group(2) if match.group(1) == ":-" else PLACEHOLDER

    return re.sub(r"\$\{\w+(?:(:[-?])([^}]*))?\}", put, str(value))


def _compose_processes() -> dict[str, tuple[list[str], dict[str, str]]]:
    """The Reflector services of deploy/compose.yaml: their command and their environment."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return {
        name: (service["command"], {k: _compose_value(v) for k, v in service.get("environment", {}).items()})
        for name, service in compose["services"].items()
        if service.get("image") == "reflector:local"
    }


def _container_env(container: dict[str, Any], config_maps: dict[str, dict[str, str]], where: str) -> dict[str, str]:
    """A container's settings as its process sees them, a Secret's key standing for its value; variables only
    there to be put into a setting ($(POD_IP)) are left out."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]])
    helpers = set()
    for entry in container.get("env", []):
        name, reference = entry["name"], entry.get("valueFrom", {})
        if "secretKeyRef" in reference:
            env[name] = PLACEHOLDER
        elif "fieldRef" in reference:
            env[name] = "10.1.2.3"
        else:
            assert "value" in entry and not SECRETS.match(name), f"{name} written in {where}"
            helpers.update(re.findall(r"\$\((\w+)\)", entry["value"]))
            env[name] = re.sub(r"\$\((\w+)\)", lambda used: env[used.group(1)], entry["value"])
    return {name: value for name, value in env.items() if name not in helpers}


def _kubernetes_processes() -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each container of the manifests running the image: its arguments and its settings."""
    manifests = _manifests()
    config_maps = {doc["metadata"]["name"]: doc["data"] for doc in manifests if doc["kind"] == "ConfigMap"}
    return {
        f"{doc['metadata']['name']}/{container['name']}": (
            container["args"],
            _container_env(container, config_maps, doc["metadata"]["name"]),
        )
        for doc in manifests
        if doc["kind"] in ("Deployment", "Job")
        for container in doc["spec"]["template"]["spec"]["containers"]
    }


def test_the_compose_file_follows_the_compose_specification() -> None:
    # check-jsonschema carries the compose specification's schema: no network needed.
    checked = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", DEPLOY / "compose.yaml"],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_kubernetes_manifests_follow_the_kubernetes_api(version: str) -> None:
    manifests = _manifests()
    not_resources = {"kustomization.yaml", "prometheus-adapter-values.yaml"}
    listed = {path.name for path in KUBERNETES.glob("*.yaml")} - not_resources
    assert listed == set(_documents(KUBERNETES / "kustomization.yaml")[0]["resources"]), "a manifest left out"
    for doc in manifests:
        # Strict: a misspelt field is an error, not ignored; a kind with no schema is an error too.
        kubernetes_validate.validate(doc, version, strict=True)
    assert {doc["kind"] for doc in manifests} >= {"Deployment", "Service", "HorizontalPodAutoscaler", "Job"}


@pytest.mark.parametrize("processes", [_compose_processes, _kubernetes_processes], ids=["compose", "kubernetes"])
def test_every_process_gets_settings_reflector_reads_and_shares_the_servers(processes) -> None:  # type: ignore[no-untyped-def]
    found = processes()
    commands = {command[0] for command, _ in found.values()}
    assert commands == {"migrate", "web", "worker", "live"}, found
    for name, (command, environment) in found.items():
        settings = _loaded(environment)
        assert settings.database.url and settings.redis.url, name
        if command[0] == "migrate":
            continue
        # Several machines: the transcripts' files in the one bucket, not in each machine's DATA_DIR.
        assert settings.storage.backend == "aws", name
        if command[0] == "web":
            assert exposure_refusal(settings) is None, name
            assert settings.server.web_concurrency == 1 and settings.server.forwarded_allow_ips, name
        if command[0] == "worker":
            queues = command[command.index("--queues") + 1]
            assert set(queues.split(",")) == {"speech", "speech-long", "llm", "webhooks"}, name


def test_no_secret_is_written_in_a_settings_map() -> None:
    for doc in _manifests():
        if doc["kind"] in ("ConfigMap", "Secret"):
            assert doc["kind"] == "ConfigMap", "a Secret's values belong to whoever deploys, not to the repository"
            assert not [k for k in doc["data"] if SECRETS.match(k)], doc["data"]


async def test_the_worker_autoscaler_reads_a_figure_the_web_process_exports(served: str) -> None:
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{served}/metrics")).text
    adapter = yaml.safe_load((KUBERNETES / "prometheus-adapter-values.yaml").read_text())
    rules = {rule["name"]["as"]: rule for rule in adapter["rules"]["external"]}
    for doc in _manifests():
        if doc["kind"] != "HorizontalPodAutoscaler":
            continue
        target = doc["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", "reflector-worker")
        for metric in doc["spec"]["metrics"]:
            rule = rules[metric["external"]["metric"]["name"]]
            exported = re.match(r"(\w+)\{", rule["seriesQuery"])
            assert exported is not None
            for status in re.search(r'status=~"([^"]+)"', rule["metricsQuery"]).group(1).split("|"):  # type: ignore[union-attr]
                assert f'{exported.group(1)}{{status="{status}"}}' in metrics, metrics
