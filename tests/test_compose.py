"""docker-compose.yml: valid against the compose-spec schema, its profiles, health
conditions and secrets as docs/deployment.md describes them, and its services' commands run
for real with their environments (no Docker engine runs here: `docker compose --profile
postgres up` itself is not run).

The schema is the one check-jsonschema ships (`vendor.compose-spec`, no download).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.backends import fresh_postgres_database
from tests.support.browser import serve_dashboard, stop_dashboard
from tests.support.harness import SIM_ID, SIM_SECRET, run_cli
from tests.support.runtime import PROJECT_ROOT, runtime_python, subprocess_env

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
PROFILES = {
    "sqlite": {"ingest", "dashboard"},
    "postgres": {"postgres", "ingest-postgres", "dashboard-postgres"},
}
DASHBOARDS = ("dashboard", "dashboard-postgres")
INGESTS = ("ingest", "ingest-postgres")
SECRETS_DIR = "/run/secrets/"


def schema_check(path: Path) -> subprocess.CompletedProcess:
    checker = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_file_is_valid_against_the_compose_spec_schema():
    done = schema_check(COMPOSE_FILE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_each_profile_starts_one_ingest_and_one_dashboard_and_never_the_others():
    started = {
        profile: {name for name, service in SERVICES.items() if profile in service["profiles"]}
        for profile in PROFILES
    }
    assert started == PROFILES
    assert all(len(service["profiles"]) == 1 for service in SERVICES.values())


def test_the_ingest_and_dashboard_run_from_one_image_with_the_documented_commands():
    for name in INGESTS + DASHBOARDS:
        service = SERVICES[name]
        assert (service["build"], service["image"]) == (".", "mimecast-searchlogs:local")
        assert service["env_file"] == ".env"
    for name in INGESTS:
        assert SERVICES[name]["command"] == ["python", "-m", "ingest", "run"]
        check = SERVICES[name]["healthcheck"]["test"]
        assert check == ["CMD", "python", "-m", "ingest", "status", "--check"]
    for name in DASHBOARDS:
        assert "command" not in SERVICES[name]  # the image's CMD: the dashboard
        assert SERVICES[name]["ports"] == ["127.0.0.1:8501:8501"]
    for name in ("ingest", "dashboard"):
        assert SERVICES[name]["volumes"] == ["searchlogs:/data"]


def test_on_postgres_the_ingest_and_dashboard_wait_for_a_healthy_database():
    database = SERVICES["postgres"]
    assert database["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert database["environment"]["POSTGRES_PASSWORD_FILE"] == SECRETS_DIR + "postgres_password"
    for name in ("ingest-postgres", "dashboard-postgres"):
        assert SERVICES[name]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert SERVICES[name]["environment"]["DATABASE_URL_FILE"] == SECRETS_DIR + "database_url"


def test_the_dashboard_gets_no_mimecast_client_secret_whatever_env_holds():
    for name in DASHBOARDS:
        service = SERVICES[name]
        assert "mimecast_client_secret" not in service["secrets"]
        # environment wins over env_file: a secret left in .env is blanked
        assert service["environment"]["MIMECAST_CLIENT_SECRET"] == ""
        assert service["environment"]["MIMECAST_CLIENT_SECRET_FILE"] == ""


def test_every_mounted_secret_is_read_through_a_file_variable_and_every_file_is_mounted():
    for name, service in SERVICES.items():
        mounted = set(service.get("secrets", []))
        files = {
            value[len(SECRETS_DIR) :]
            for key, value in service.get("environment", {}).items()
            if key.endswith("_FILE") and value
        }
        assert files == mounted, name
        assert mounted <= set(COMPOSE["secrets"]), name
    for secret in COMPOSE["secrets"].values():
        assert secret["file"].startswith("./secrets/")


def test_the_secrets_reach_each_service_as_files_and_no_value_is_written_in_compose():
    needs = {
        "ingest": {"MIMECAST_CLIENT_SECRET_FILE"},
        "ingest-postgres": {"MIMECAST_CLIENT_SECRET_FILE", "DATABASE_URL_FILE"},
        "dashboard": {"METRICS_TOKEN_FILE"},
        "dashboard-postgres": {"METRICS_TOKEN_FILE", "DATABASE_URL_FILE"},
        "postgres": {"POSTGRES_PASSWORD_FILE"},
    }
    for name, service in SERVICES.items():
        given = {key for key, value in service["environment"].items() if value}
        assert given >= needs[name], name
        for key in given:
            if any(word in key for word in ("SECRET", "TOKEN", "PASSWORD", "DATABASE_URL")):
                assert key.endswith("_FILE"), (name, key)


def test_a_compose_file_with_an_unknown_key_fails_the_schema_check(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("depends_on:", "depend_on:"))
    assert schema_check(broken).returncode != 0


def as_run(service: str, folder: Path) -> dict[str, str]:
    """A service's environment as its container has it, /run/secrets/ being `folder`."""
    environment = SERVICES[service]["environment"]
    return {
        key: str(folder / value[len(SECRETS_DIR) :]) if value.startswith(SECRETS_DIR) else value
        for key, value in environment.items()
    }


@pytest.mark.slow  # about 20 s: a poll into PostgreSQL, then a dashboard started and probed
@pytest.mark.postgres
def test_the_postgres_profiles_services_run_with_their_secrets_from_files(sim_url, tmp_path):
    """The ingest's and the dashboard's environments as compose gives them: the ingest polls
    into PostgreSQL and passes its health check; the dashboard, with no client secret, serves
    and passes the image's health check with METRICS_TOKEN from its file."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    url = fresh_postgres_database(os.environ["TEST_DATABASE_URL"], "compose_profile")
    (secrets / "database_url").write_text(url + "\n")
    (secrets / "mimecast_client_secret").write_text(SIM_SECRET + "\n")
    (secrets / "metrics_token").write_text("compose-metrics-token\n")
    settings = {"MIMECAST_CLIENT_ID": SIM_ID, "MIMECAST_BASE_URL": sim_url}
    ingest = {**settings, "INITIAL_BACKFILL_DAYS": "1", **as_run("ingest-postgres", secrets)}

    polled = run_cli(["run", "--once"], ingest, tmp_path)
    check = run_cli(SERVICES["ingest-postgres"]["healthcheck"]["test"][4:], ingest, tmp_path)

    assert polled.returncode == 0, polled.stderr
    assert check.returncode == 0, check.stdout + check.stderr
    dashboard = {**settings, **as_run("dashboard-postgres", secrets)}
    base, server = serve_dashboard(dashboard, tmp_path / "dashboard.log")
    try:
        probe = [runtime_python(), "-m", "api.probe", f"{base}/healthz"]
        healthy = subprocess.run(
            probe, env=subprocess_env(dashboard), capture_output=True, text=True, timeout=30
        )
        without_token = subprocess.run(
            probe,
            env=subprocess_env({**dashboard, "METRICS_TOKEN_FILE": ""}),
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        stop_dashboard(server)
    assert healthy.returncode == 0, healthy.stdout
    assert without_token.returncode == 1 and "HTTP 401" in without_token.stdout
    for output in (polled.stderr, healthy.stdout, (tmp_path / "dashboard.log").read_text()):
        assert SIM_SECRET not in output and "compose-metrics-token" not in output
