"""Alembic for the ClickHouse store: its own migration environment (db/clickhouse/migrations,
revisions `ch0001`…), run through clickhouse-connect's SQLAlchemy dialect and its Alembic
support (`clickhouse_connect.cc_sqlalchemy.alembic`), which keeps `alembic_version` in
ClickHouse. `ClickHouseStore.open` upgrades to the newest revision on every open.

chDB is reached as `create_engine("clickhousedb://", connect_args={"dsn": "chdb:///path"})`:
the in-process engine serves this process's client and this engine alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def sqlalchemy_engine(url: str) -> Engine:
    """A SQLAlchemy engine on the ClickHouse store at `url` (`chdb:///…` or a server)."""
    import clickhouse_connect.cc_sqlalchemy.alembic  # noqa: F401 (Alembic's ClickHouse impl; on use)

    if url.startswith("chdb:"):
        return create_engine("clickhousedb://", connect_args={"dsn": url})
    return create_engine("clickhousedb" + url[url.index(":") :])


@contextmanager
def _connected(url: str) -> Iterator[Connection]:
    engine = sqlalchemy_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head() or ""


def current(url: str) -> str | None:
    """The store's revision (None before the first)."""
    with _connected(url) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the store to `revision`; a no-op (one read) when it is there already."""
    with _connected(url) as connection:
        if revision == "head" and (
            MigrationContext.configure(connection).get_current_revision() == head()
        ):
            return
        command.upgrade(_config(connection), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the store back to `revision` ("base": no table left)."""
    with _connected(url) as connection:
        command.downgrade(_config(connection), revision)
