"""deploy/kubernetes/: every manifest valid against the Kubernetes schemas (strict: an
unknown field fails), as docs/deployment.md describes them, and their commands run for real
with a pod's environment. No cluster: kubernetes-validate ships the schemas; `kubectl
kustomize` builds the kustomization where kubectl is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.harness import SIM_ID, SIM_SECRET, run_cli
from tests.support.runtime import PROJECT_ROOT

FOLDER = PROJECT_ROOT / "deploy" / "kubernetes"
MANIFESTS = sorted(path for path in FOLDER.glob("*.yaml") if path.name != "kustomization.yaml")
KUSTOMIZATION = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())
VERSIONS = ("1.29.0", "1.37.0")  # an old supported cluster and the newest schema shipped
SECRETS = "/run/secrets/searchlogs/"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((FOLDER / name).read_text())


def validate(*paths: Path, version: str = "1.37.0") -> subprocess.CompletedProcess:
    checker = Path(sys.executable).parent / "kubernetes-validate"
    command = [str(checker), "--strict", "--quiet", "-k", version, *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def pod(manifest: dict[str, Any]) -> dict[str, Any]:
    spec = manifest["spec"]
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def env_of(manifest: dict[str, Any]) -> dict[str, str]:
    [container] = pod(manifest)["containers"]
    return {item["name"]: item["value"] for item in container.get("env", [])}


def mounted_keys(manifest: dict[str, Any]) -> set[str]:
    [volume] = pod(manifest)["volumes"]
    assert volume["secret"]["secretName"] == "searchlogs"
    return {item["key"] for item in volume["secret"]["items"]}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(version):
    done = validate(*MANIFESTS, version=version)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_unknown_field_fails_the_schema_check(tmp_path):
    broken = tmp_path / "dashboard.yaml"
    broken.write_text((FOLDER / "dashboard.yaml").read_text().replace("replicas:", "replica:"))
    done = validate(broken)
    assert done.returncode != 0 and "'replica' was unexpected" in done.stdout + done.stderr


def test_the_kustomization_lists_every_manifest_but_the_alternatives():
    listed = {name.split("#")[0].strip() for name in KUSTOMIZATION["resources"]}
    assert listed == {path.name for path in MANIFESTS} - {"cronjob.yaml", "secret.example.yaml"}


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl is not installed")
def test_the_kustomization_builds_into_valid_manifests(tmp_path):
    built = subprocess.run(
        ["kubectl", "kustomize", str(FOLDER)], capture_output=True, text=True, timeout=120
    )
    assert built.returncode == 0, built.stderr
    (tmp_path / "built.yaml").write_text(built.stdout)
    kinds = [document["kind"] for document in yaml.safe_load_all(built.stdout)]
    assert sorted(kinds) == ["ConfigMap", "Deployment", "Deployment", "Ingress", "Service"]
    done = validate(tmp_path / "built.yaml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_ingest_is_one_replica_recreated_and_probed_with_status_check():
    ingest = load("ingest.yaml")
    assert ingest["spec"]["replicas"] == 1
    assert ingest["spec"]["strategy"] == {"type": "Recreate"}
    [container] = pod(ingest)["containers"]
    assert container["command"] == ["python", "-m", "ingest", "run"]
    check = ["python", "-m", "ingest", "status", "--check"]
    assert container["livenessProbe"]["exec"]["command"] == check
    assert container["startupProbe"]["exec"]["command"] == check


def test_the_dashboard_runs_replicas_live_on_healthz_behind_a_sticky_service():
    dashboard, service = load("dashboard.yaml"), load("service.yaml")
    assert dashboard["spec"]["replicas"] >= 2
    [container] = pod(dashboard)["containers"]
    probe = container["livenessProbe"]["exec"]["command"]
    assert probe == ["python", "-m", "api.probe", "http://127.0.0.1:8501/healthz"]
    assert service["spec"]["sessionAffinity"] == "ClientIP"
    assert service["spec"]["selector"] == dashboard["spec"]["selector"]["matchLabels"]
    annotations = load("ingress.yaml")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"


def test_the_database_url_comes_from_the_secret_and_the_dashboard_gets_no_client_secret():
    for name in ("ingest.yaml", "cronjob.yaml", "dashboard.yaml"):
        manifest = load(name)
        env = env_of(manifest)
        assert env["DATABASE_URL_FILE"] == SECRETS + "database_url", name
        files = {value[len(SECRETS) :] for key, value in env.items() if key.endswith("_FILE")}
        assert files == mounted_keys(manifest), name
        assert not any(key.endswith(("SECRET", "TOKEN", "URL")) for key in env), name
    assert "mimecast_client_secret" not in mounted_keys(load("dashboard.yaml"))
    assert "MIMECAST_CLIENT_SECRET_FILE" not in env_of(load("dashboard.yaml"))
    assert set(load("secret.example.yaml")["stringData"]) == {
        "mimecast_client_secret",
        "database_url",
        "metrics_token",
    }


def test_the_cronjob_alternative_polls_once_never_two_at_a_time():
    cronjob = load("cronjob.yaml")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    [container] = pod(cronjob)["containers"]
    assert container["command"] == ["python", "-m", "ingest", "run", "--once"]


def test_the_cronjobs_poll_and_the_ingests_probe_run_with_a_pods_environment(sim_url, tmp_path):
    """The CronJob's command, then the Deployment's probe, with the ConfigMap and the env of
    the manifests, /run/secrets/searchlogs/ being a folder here and a SQLite URL in it."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "mimecast_client_secret").write_text(SIM_SECRET + "\n")
    (secrets / "database_url").write_text(f"sqlite:///{tmp_path / 'searchlogs.db'}\n")
    settings = {**load("settings.yaml")["data"], "MIMECAST_CLIENT_ID": SIM_ID}
    settings.update(MIMECAST_BASE_URL=sim_url, INITIAL_BACKFILL_DAYS="1", DASHBOARD_URL="")
    for key, value in env_of(load("cronjob.yaml")).items():
        settings[key] = str(secrets / value[len(SECRETS) :])
    poll = pod(load("cronjob.yaml"))["containers"][0]["command"][3:]
    probe = pod(load("ingest.yaml"))["containers"][0]["livenessProbe"]["exec"]["command"][3:]

    polled = run_cli(poll, settings, tmp_path)
    checked = run_cli(probe, settings, tmp_path)

    assert polled.returncode == 0, polled.stderr
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert all(line.startswith("{") for line in polled.stderr.splitlines())  # LOG_FORMAT=json
    assert SIM_SECRET not in polled.stderr + checked.stdout + checked.stderr
