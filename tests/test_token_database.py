"""Commands name the database they write, and a token is made only for a database the
ingest has created (issue 15 § 8): `token create` with no database setting used to create an
empty data/searchlogs.db and print a token for it, which the demo (data/demo.db) answered
with 401. Through the real CLI, from the runtime virtualenv.
"""

from __future__ import annotations

import importlib.util
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from config.settings import load_settings
from db.api_tokens import Caller, authenticate
from tests.support.harness import SIM_ID, SIM_SECRET, run_cli
from tests.support.runtime import PROJECT_ROOT, runtime_python, subprocess_env

REFUSED = {
    "create": ["token", "create", "--name", "siem", "--role", "viewer"],
    "list": ["token", "list"],
    "revoke": ["token", "revoke", "siem"],
    "reset": ["reset-cursor", "--yes"],
}


def shown(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def serve_module():
    """scripts/serve.py, which `scripts/demo` runs (a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("serve", PROJECT_ROOT / "scripts" / "serve.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("command", REFUSED.values(), ids=REFUSED.keys())
def test_a_token_or_reset_for_a_database_never_created_exits_2_and_creates_nothing(
    tmp_path, command
):
    unset = run_cli(command, {}, tmp_path)
    default = tmp_path / "data" / "searchlogs.db"
    assert unset.returncode == 2, unset.stderr
    assert (
        f"error: no database at {shown(default)} (DB_PATH and DATABASE_URL unset: the default): "
        "set DB_PATH or DATABASE_URL to the database the ingest writes"
    ) in unset.stderr
    assert "Traceback" not in unset.stderr and "msl_" not in unset.stdout
    assert list(tmp_path.iterdir()) == [], "no folder, no empty database"

    empty = tmp_path / "empty.db"
    empty.touch()  # a file with no tables: nothing writes or reads it either
    named = run_cli(command, {"DB_PATH": str(empty)}, tmp_path)
    assert named.returncode == 2, named.stderr
    assert f"error: no database at {shown(empty)} (DB_PATH): " in named.stderr
    assert empty.stat().st_size == 0


def test_the_demos_token_command_makes_a_token_for_the_demos_database(sim, sim_url, tmp_path):
    """What the demo prints, run verbatim by a shell in a folder laid out like the project,
    once the ingest has created the demo's database: the token is in data/demo.db (what the
    demo's dashboard reads) and nothing else was created."""
    serve = serve_module()
    env = {**serve.DEMO_SETTINGS, "MIMECAST_BASE_URL": sim_url, "INITIAL_BACKFILL_DAYS": "1"}
    assert (env["MIMECAST_CLIENT_ID"], env["MIMECAST_CLIENT_SECRET"]) == (SIM_ID, SIM_SECRET)
    ingest = run_cli(["run", "--once"], env, tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    database = tmp_path / "data" / "demo.db"
    assert f"written to {shown(database)} (DB_PATH)" in ingest.stderr, "run names it"

    (tmp_path / ".venv").symlink_to(Path(runtime_python()).parent.parent)
    command = serve.token_command(load_settings(serve.DEMO_SETTINGS), demo=True)
    made = subprocess.run(
        ["bash", "-c", command],
        cwd=tmp_path,
        env=subprocess_env({}),  # none of the demo's settings: only what the command says
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    first, *_, token = made.stdout.strip().splitlines()
    assert first == (
        f"created viewer token 'my-script' for tenant 'default' in {shown(database)} (DB_PATH), "
        "no expiry."
    )
    engine = create_engine(f"sqlite:///{database}")
    try:
        caller = authenticate(engine, token)
    finally:
        engine.dispose()
    assert caller == Caller("my-script", "viewer", "default"), "what the demo's dashboard accepts"
    assert not (tmp_path / "data" / "searchlogs.db").exists()
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT name, role FROM api_tokens").fetchall() == [
            ("my-script", "viewer")
        ]


def test_the_two_tenant_demos_token_command_names_a_tenant_and_works(
    sim, sim_url, tmp_path, monkeypatch
):
    """The demo has two tenants, where a viewer token must name one: the printed command,
    run verbatim, makes a token that reads the demo's first tenant."""
    serve = serve_module()
    tables = [
        f'[[tenant]]\nname = "{name}"\nbase_url = "{sim_url}"\nclient_id = "{SIM_ID}"\n'
        'client_secret_env = "DEMO_SECRET"\n'
        for name in ("acme", "globex")
    ]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "demo-tenants.toml").write_text("\n".join(tables), encoding="utf-8")
    settings_env = {**serve.DEMO_SETTINGS, "TENANTS_FILE": "data/demo-tenants.toml"}
    settings_env.update(MIMECAST_CLIENT_ID="", MIMECAST_CLIENT_SECRET="")
    env = {**settings_env, "DEMO_SECRET": SIM_SECRET, "INITIAL_BACKFILL_DAYS": "1"}
    ingest = run_cli(["run", "--once"], env, tmp_path)
    assert ingest.returncode == 0, ingest.stderr

    (tmp_path / ".venv").symlink_to(Path(runtime_python()).parent.parent)
    settings = load_settings(settings_env)
    monkeypatch.chdir(tmp_path)  # the demo's paths are the project folder's
    tenants = serve.load_tenants(settings, settings_env)
    command = serve.token_command(settings, demo=True, tenants=tenants)
    assert command.endswith("--role viewer --tenant acme")
    made = subprocess.run(
        ["bash", "-c", command],
        cwd=tmp_path,
        env=subprocess_env({}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'demo.db'}")
    try:
        assert authenticate(engine, token) == Caller("my-script", "viewer", "acme")
    finally:
        engine.dispose()
