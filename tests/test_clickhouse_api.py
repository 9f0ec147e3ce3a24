"""The machine API on ClickHouse (chDB): the same searches stored in a SQLite file and a
chDB folder (two tenants, one address and one search in both), the real server started on
each in turn (the ClickHouse one from the test tools' Python, which has the extra; its
control database, with the tokens and the audit trail, is the SQLite file). The search
endpoints answer alike; the ClickHouse paging cursor walks every row once, and a changed
one, a SQL one or another tenant's is refused in one line.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from api.paging import BAD_CURSOR
from db.engine import open_database
from db.stores import NO_DRIVERS
from tests.support.browser import serve_dashboard, stop_dashboard
from tests.support.builders import WINDOW, store_records
from tests.support.clickhouse import chdb_store, keyed
from tests.support.harness import run_cli
from tests.support.runtime import runtime_python
from tests.test_clickhouse_listing import DATA, SHARED, TIE

pytestmark = pytest.mark.slow

TENANTS = ("acme", "globex")
DAYS = "from=2026-03-19&to=2026-04-30"
RANGE = f"{DAYS}&tz=Europe/Berlin"
DAY = TIE[:10]


def _tenants_file(folder: Path) -> dict[str, str]:
    tables = [
        f'[[tenant]]\nname = "{name}"\nbase_url = "https://127.0.0.1:9"\n'
        f'client_id = "{name}-id"\nclient_secret_env = "{name.upper()}_SECRET"\n'
        for name in TENANTS
    ]
    path = folder / "tenants.toml"
    path.write_text("\n".join(tables), encoding="utf-8")
    secrets = {f"{name.upper()}_SECRET": "not-used" for name in TENANTS}
    return {"TENANTS_FILE": str(path), **secrets}


class Server:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def get(self, path: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return requests.get(self.base + path, headers=headers, timeout=60)

    def json(self, path: str) -> Any:
        reply = self.get(path)
        assert reply.status_code == 200, (path, reply.text)
        return reply.json()

    def listing(self, path: str) -> tuple[list[dict[str, Any]], list[str]]:
        """Every page of a listing, 7 rows at a time; the rows and the cursors."""
        rows: list[dict[str, Any]] = []
        cursors: list[str] = []
        glue = "&" if "?" in path else "?"
        page = self.json(f"{path}{glue}limit=7")
        while True:
            rows.extend(page["searches"])
            if not page["next_cursor"]:
                return rows, cursors
            cursors.append(page["next_cursor"])
            page = self.json(f"{path}{glue}limit=7&cursor={cursors[-1]}")


def _answers(server: Server) -> dict[str, Any]:
    """Each search endpoint's answer per tenant; listings as sorted rows plus their times
    in order (rows with one timestamp may come in another order than SQLite's)."""
    answers: dict[str, Any] = {}
    for tenant in TENANTS:
        for path in ("/api/v1/searches-per-day", "/api/v1/users"):
            answers[f"{path} {tenant}"] = server.json(f"{path}?{RANGE}&tenant={tenant}")
        for path in (f"/api/v1/users/{SHARED}/searches?{DAYS}&", f"/api/v1/days/{DAY}/searches?"):
            rows, cursors = server.listing(f"{path}tenant={tenant}&tz=UTC")
            assert rows and cursors, path
            answers[f"{path} {tenant}"] = (
                sorted(json.dumps(row, sort_keys=True) for row in rows),
                [row["time"] for row in rows],
            )
    return answers


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("chapi")
    env = {"DB_PATH": str(folder / "control.db"), "DISPLAY_TZ": "UTC", **_tenants_file(folder)}
    engine = open_database(f"sqlite:///{env['DB_PATH']}")
    for tenant, records in DATA.items():
        store_records(engine, records, tenant)
    engine.dispose()
    with chdb_store(folder) as clickhouse:
        for tenant, records in DATA.items():
            clickhouse.write_page(tenant, keyed(records), [], 1, WINDOW)
    made = run_cli(["token", "create", "--name", "platform", "--role", "admin"], env, folder)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    yield {"env": env, "token": token, "chdb": f"chdb://{folder / 'clickhouse'}", "dir": folder}


@pytest.fixture(scope="module")
def sqlite_answers(installation: dict[str, Any]) -> dict[str, Any]:
    base, process = serve_dashboard(installation["env"], installation["dir"] / "sqlite.log")
    try:
        return _answers(Server(base, installation["token"]))
    finally:
        stop_dashboard(process)


@pytest.fixture(scope="module")
def clickhouse_server(installation: dict[str, Any]) -> Iterator[Server]:
    env = {**installation["env"], "DATABASE_URL": installation["chdb"]}
    base, process = serve_dashboard(env, installation["dir"] / "ch.log", python=sys.executable)
    try:
        yield Server(base, installation["token"])
    finally:
        stop_dashboard(process)


def test_search_endpoints_on_clickhouse_answer_as_on_sqlite(
    sqlite_answers: dict[str, Any], clickhouse_server: Server
) -> None:
    on_clickhouse = _answers(clickhouse_server)
    assert on_clickhouse.keys() == sqlite_answers.keys()
    for name, answer in sqlite_answers.items():
        assert on_clickhouse[name] == answer, name
    # the tenants differ, and the address in both is counted per tenant
    assert on_clickhouse["/api/v1/users acme"] != on_clickhouse["/api/v1/users globex"]


def _repacked(cursor: str, change: Any) -> str:
    fields = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    change(fields)
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


def test_clickhouse_cursor_refuses_a_changed_or_foreign_cursor_in_one_line(
    clickhouse_server: Server,
) -> None:
    path = f"/api/v1/users/{SHARED}/searches?{DAYS}&tenant=acme&tz=UTC"
    rows, cursors = clickhouse_server.listing(path)
    assert len(cursors) >= 2 and len({row["time"] for row in rows}) > 1
    cursor = cursors[0]
    refused = [
        _repacked(cursor, lambda f: f.__setitem__(4, "globex")),  # a row of another tenant
        _repacked(cursor, lambda f: f.__setitem__(5, "zz")),  # not a content key
        _repacked(cursor, lambda f: f.__setitem__(2, "2026-03-20T00:00:00")),  # no zone
        _repacked(cursor, lambda f: f.__setitem__(0, "sql")),
        _repacked(cursor, lambda f: f.pop()),
        base64.urlsafe_b64encode(b'["acme",5,null,null]').decode().rstrip("="),  # a SQL one
        cursor[:-3],
    ]
    for bad in refused:
        reply = clickhouse_server.get(f"{path}&cursor={bad}")
        assert reply.status_code == 400, bad
        assert reply.json()["detail"] == BAD_CURSOR
    other = clickhouse_server.get(path.replace("acme", "globex") + f"&cursor={cursor}")
    assert other.status_code == 400  # made in acme's listing
    again = clickhouse_server.json(f"{path}&limit=7&cursor={cursor}")
    assert again["searches"] == rows[7:14]  # the cursor round-trips


def test_mailbox_listing_is_refused_on_clickhouse_in_one_line(clickhouse_server: Server) -> None:
    reply = clickhouse_server.get("/api/v1/mailboxes/someone@example.com/searches?tenant=acme")
    assert reply.status_code == 501
    detail = reply.json()["detail"]
    assert detail.startswith("not available on ClickHouse yet") and "\n" not in detail


def test_the_runtime_install_without_the_extra_answers_503_naming_it(tmp_path: Path) -> None:
    """RUNTIME_PYTHON has requirements.txt alone: the API says what to install, one line."""
    probe = subprocess.run([runtime_python(), "-c", "import clickhouse_connect"], check=False)
    if probe.returncode == 0:
        pytest.skip("this runtime Python has the ClickHouse extra installed")
    env = {"DATABASE_URL": f"chdb://{tmp_path / 'ch'}", "DB_PATH": str(tmp_path / "c.db")}
    base, process = serve_dashboard(env, tmp_path / "server.log")
    try:
        bearer = {"Authorization": "Bearer not-a-token"}
        reply = requests.get(f"{base}/api/v1/users", headers=bearer, timeout=60)
    finally:
        stop_dashboard(process)
    assert reply.status_code == 503
    assert reply.json()["detail"] == f"the database cannot be opened: {NO_DRIVERS}"
