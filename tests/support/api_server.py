"""A small database and the dashboard's real server over it, for the API's audit and
hostile-parameter tests: a few known searches, a viewer and an admin token, calls over
HTTP with any method and a raw (already percent-encoded) URL."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import Engine, select

from db.engine import open_database
from db.models import AuditEvent
from tests.support.backends import fresh_postgres_database
from tests.support.browser import serve_dashboard, stop_dashboard
from tests.support.builders import record, store_records
from tests.support.harness import run_cli

SEARCHES = [
    record("2026-03-02T09:00:00", "eve@example.com", source="archive", searchText="+1"),
    record("2026-03-02T10:00:00", "eve@example.com", source="archive", searchText="@SUM(1)"),
    record("2026-03-05T10:00:00", "bob@example.com", source="archive", searchText="plan"),
]


@dataclass
class ApiServer:
    folder: Path
    env: dict[str, str]
    engine: Engine
    base: str = ""
    process: subprocess.Popen | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def start(self, **more_env: str) -> ApiServer:
        self.base, self.process = serve_dashboard({**self.env, **more_env}, self.log)
        return self

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it: the server's shutdown runs."""
        if self.process is not None:
            stop_dashboard(self.process)
            self.process = None

    def token(self, name: str, role: str = "viewer") -> str:
        done = run_cli(["token", "create", "--name", name, "--role", role], self.env, Path.cwd())
        assert done.returncode == 0, done.stderr
        self.tokens[name] = done.stdout.strip().splitlines()[-1]
        return self.tokens[name]

    def revoke(self, name: str) -> None:
        done = run_cli(["token", "revoke", name], self.env, Path.cwd())
        assert done.returncode == 0, done.stderr

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        session: requests.Session | None = None,
        **kwargs,
    ) -> requests.Response:
        """`method path` as given: the path and query are sent without re-encoding."""
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        prepared = requests.Request(method, self.base + "/", headers=headers, **kwargs).prepare()
        prepared.url = self.base + path
        return (session or requests.Session()).send(prepared, timeout=60)

    def audit_rows(self, actor: str) -> list[dict]:
        with self.engine.connect() as conn:
            table = AuditEvent.__table__
            rows = conn.execute(select(table).where(table.c.actor == actor).order_by(table.c.id))
            return [dict(row._mapping) for row in rows]


def api_database(backend: str, folder: Path, name: str) -> ApiServer:
    """A migrated database on `backend` holding SEARCHES, not yet served."""
    db_path = folder / "data" / "searchlogs.db"
    env = {"DB_PATH": str(db_path), "DISPLAY_TZ": "UTC", "API_RATE_LIMIT": "240"}
    if backend == "postgresql":
        env["DATABASE_URL"] = fresh_postgres_database(os.environ["TEST_DATABASE_URL"], name)
    engine = open_database(env.get("DATABASE_URL") or f"sqlite:///{db_path}")
    store_records(engine, SEARCHES)
    return ApiServer(folder, env, engine)


def close(server: ApiServer) -> None:
    server.stop()
    server.engine.dispose()
