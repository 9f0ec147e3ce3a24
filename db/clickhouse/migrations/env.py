"""Alembic environment of the ClickHouse store: runs on the connection handed over by
`db.clickhouse.migrate`. ClickHouse has no transactional DDL: each revision is idempotent
DDL (`IF [NOT] EXISTS`), so a revision cut short is completed by running it again."""

import clickhouse_connect.cc_sqlalchemy.alembic  # noqa: F401 (registers Alembic's ClickHouse impl)
from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transactional_ddl=False)
with context.begin_transaction():
    context.run_migrations()
