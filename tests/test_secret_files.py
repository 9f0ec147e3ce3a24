"""The `_FILE` convention: every secret setting may be read from a file (Docker secrets,
Kubernetes Secret volumes), with the same rules everywhere: trailing newline stripped, both
forms set refused, an unreadable or empty file refused, no path or value in any message.

In-process for each setting's rules; through the real CLI (RUNTIME_PYTHON) against the
simulator for the client secret, for two tenants whose secrets come from files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import SECRET_SETTINGS, ConfigError, load_settings
from config.tenants import load_tenants
from ingest.forward.config import destination_from
from tests.support.harness import SIM_ID, SIM_SECRET, run_cli
from tests.test_ingest_tenants import (  # noqa: F401 (two_accounts is a fixture)
    ACCOUNTS,
    assert_stored_completely,
    tenants_env,
    two_accounts,
)

# A value each secret setting accepts, with characters a shell or a parser could mangle.
VALUES = {
    "MIMECAST_CLIENT_SECRET": "s3cr3t $x 'q' #h",
    "DATABASE_URL": "postgresql+psycopg://searchlogs:pa%24%24@db.example:5432/searchlogs",
    "CONTROL_DATABASE_URL": "postgresql+psycopg://control:pa%24%24@db.example:5432/control",
    "FORWARD_URL": "https://hooks.example.com/services/T000/B000/SECRETPATH",
    "FORWARD_TOKEN": "11111111-2222-3333-4444-555555555555",
    "METRICS_TOKEN": "metrics-token-value",
}


def test_every_secret_setting_has_a_value_to_test():
    assert set(SECRET_SETTINGS) == set(VALUES)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_every_secret_setting_is_read_from_the_file_its_file_variable_names(tmp_path, name):
    secret = tmp_path / name.lower()
    secret.write_text(VALUES[name] + "\n", encoding="utf-8")

    from_file = load_settings({f"{name}_FILE": str(secret)})
    direct = load_settings({name: VALUES[name]})

    assert getattr(from_file, name.lower()) == VALUES[name] == getattr(direct, name.lower())
    assert VALUES[name] not in repr(from_file)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_a_secret_set_both_directly_and_by_file_is_refused_in_one_line(tmp_path, name):
    secret = tmp_path / "secret"
    secret.write_text(VALUES[name], encoding="utf-8")

    with pytest.raises(ConfigError) as raised:
        load_settings({name: VALUES[name], f"{name}_FILE": str(secret)})

    assert str(raised.value) == (
        f"{name} and {name}_FILE are both set: keep one (the file for a secret)"
    )


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda path: None, "names a file that cannot be read: No such file or directory"),
        (lambda path: path.mkdir(), "names a file that cannot be read: Is a directory"),
        (lambda path: path.write_text("\n"), "names an empty file: put the secret in it"),
        (lambda path: path.write_bytes(b"\xff\xfe"), "names a file that is not UTF-8 text"),
    ],
    ids=["missing", "directory", "empty", "not-text"],
)
@pytest.mark.parametrize("name", sorted(VALUES))
def test_an_unreadable_secret_file_is_refused_without_its_path(tmp_path, name, make, why):
    path = tmp_path / "where-the-secret-lives"
    make(path)

    with pytest.raises(ConfigError) as raised:
        load_settings({f"{name}_FILE": str(path)})

    assert str(raised.value) == f"{name}_FILE {why}"


def test_the_ingest_polls_with_the_client_secret_from_a_file_and_never_shows_it(sim_url, tmp_path):
    secret = tmp_path / "mimecast_client_secret"
    secret.write_text(SIM_SECRET + "\n", encoding="utf-8")
    env = {
        "MIMECAST_CLIENT_ID": SIM_ID,
        "MIMECAST_CLIENT_SECRET_FILE": str(secret),
        "MIMECAST_BASE_URL": sim_url,
        "DB_PATH": str(tmp_path / "searchlogs.db"),
        "INITIAL_BACKFILL_DAYS": "1",
    }

    done = run_cli(["-v", "run", "--once"], env, tmp_path)

    assert done.returncode == 0, done.stderr
    assert SIM_SECRET not in done.stdout + done.stderr


def test_the_cli_refuses_a_secret_set_twice_with_one_line_and_exit_2(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-the-file\n", encoding="utf-8")
    env = {
        "MIMECAST_CLIENT_ID": "id",
        "MIMECAST_CLIENT_SECRET": "from-the-environment",
        "MIMECAST_CLIENT_SECRET_FILE": str(secret),
        "DB_PATH": str(tmp_path / "searchlogs.db"),
    }

    done = run_cli(["status"], env, tmp_path)

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: MIMECAST_CLIENT_SECRET and MIMECAST_CLIENT_SECRET_FILE are both set: keep one "
        "(the file for a secret)"
    ]
    for value in ("from-the-file", "from-the-environment", str(secret)):
        assert value not in done.stdout + done.stderr


def test_each_tenants_secret_variable_may_be_given_as_a_file(two_accounts, tmp_path):  # noqa: F811
    """acme's `client_secret_env` variable comes as ACME_SECRET_FILE, globex's directly: both
    accounts are polled completely, each into its own tenant, and no secret is shown."""
    db_url = f"sqlite:///{tmp_path / 'data' / 'searchlogs.db'}"
    env = tenants_env(two_accounts, tmp_path, db_url)
    secrets = {name: env[f"{name.upper()}_SECRET"] for name in ACCOUNTS}
    (tmp_path / "acme.secret").write_text(env.pop("ACME_SECRET") + "\n", encoding="utf-8")
    env["ACME_SECRET_FILE"] = str(tmp_path / "acme.secret")

    done = run_cli(["run", "--once"], env, tmp_path)

    assert done.returncode == 0, done.stderr
    for tenant in ACCOUNTS:
        assert_stored_completely(two_accounts, db_url, tenant)
    assert not any(secret in done.stdout + done.stderr for secret in secrets.values())


def test_a_tenants_unreadable_secret_file_is_its_credentials_problem_not_the_dashboards(
    tmp_path,
):
    """The dashboard loads the tenants without their secrets; the ingest is refused."""
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(
        '[[tenant]]\nname = "acme"\nclient_id = "a"\nclient_secret_env = "ACME_SECRET"\n'
        '[[tenant]]\nname = "globex"\nclient_id = "g"\nclient_secret_env = "GLOBEX_SECRET"\n'
    )
    settings = load_settings({"TENANTS_FILE": str(tenants)})
    env = {"ACME_SECRET_FILE": str(tmp_path / "absent"), "GLOBEX_SECRET": "globex-secret"}

    acme, globex = load_tenants(settings, env)

    assert globex.require_credentials() == ("g", "globex-secret")
    with pytest.raises(ConfigError) as raised:
        acme.require_credentials()
    assert str(raised.value) == (
        "TENANTS_FILE: tenant 'acme': client_secret_env: ACME_SECRET_FILE names a file that "
        "cannot be read: No such file or directory"
    )


def test_a_forwarding_destinations_secret_variables_may_be_given_as_files(tmp_path: Path):
    (tmp_path / "hec").write_text("hec-token\n")
    (tmp_path / "hook").write_text("https://hooks.example.com/services/T0/B0/SECRETPATH\n")
    env = {"HEC_FILE": str(tmp_path / "hec"), "HOOK_URL_FILE": str(tmp_path / "hook")}

    hec = destination_from(
        {"name": "splunk", "url": "https://splunk:8088/c", "protocol": "hec", "token_env": "HEC"},
        env,
        1,
    )
    hook = destination_from(
        {"name": "chat", "url_env": "HOOK_URL", "format": "slack", "source": "alerts"}, env, 2
    )

    assert hec.token == "hec-token"
    assert "SECRETPATH" not in hook.where and "SECRETPATH" not in repr(hook)
    with pytest.raises(ConfigError) as raised:
        destination_from(
            {"name": "splunk", "url": "https://s:8088/c", "token_env": "HEC"},
            {"HEC": "x", "HEC_FILE": str(tmp_path / "hec")},
            1,
        )
    assert str(raised.value) == (
        "forwarding destination 'splunk': token_env: HEC and HEC_FILE are both set: keep one "
        "(the file for a secret)"
    )
