"""Alembic environment: runs on the engine handed over by `db.engine.upgrade_schema`.

On SQLite the whole upgrade is one transaction with foreign keys off, checked before the
commit: a revision that copies a table another one refers to (0011 copies `ingest_runs`)
must not have SQLite delete the referring rows' parents on the way, and a failed revision
must leave the file exactly as it was, not half upgraded. pysqlite would only begin a
transaction at the first INSERT, so the transaction is begun here explicitly. libSQL's
driver fixes its isolation level when it connects (the attribute is read-only) and, like
pysqlite, begins on its own only before a data change, after our BEGIN never: it is left as is.
"""

from contextlib import suppress

from alembic import context
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError

from db.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_sqlite(engine: Engine) -> None:
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None  # pysqlite's connection, open while `connection` is
        saved = driver.isolation_level
        with suppress(AttributeError):  # read-only on libSQL (see above)
            driver.isolation_level = None  # no implicit transactions: BEGIN is ours
        driver.execute("PRAGMA foreign_keys = OFF")  # only takes effect outside a transaction
        try:
            with connection.begin():
                driver.execute("BEGIN")
                _configure(connection)
                with context.begin_transaction():
                    context.run_migrations()
                broken = driver.execute("PRAGMA foreign_key_check").fetchall()
                if broken:  # reported by db.engine.upgrade_schema as a database error
                    problem = f"the upgrade left {len(broken)} broken references: {broken[0]}"
                    raise DatabaseError(problem, None, RuntimeError(problem))
        finally:
            driver.execute("PRAGMA foreign_keys = ON")
            with suppress(AttributeError):
                driver.isolation_level = saved


def run_migrations() -> None:
    engine = config.attributes["engine"]
    if engine.dialect.name == "sqlite":
        run_sqlite(engine)
        return
    with engine.begin() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
