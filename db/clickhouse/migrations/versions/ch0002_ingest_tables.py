"""The ingest's run log (`ingest_runs`) and the filter values, for `python -m ingest` on
ClickHouse.

Revision ID: ch0002
Revises: ch0001
"""

from alembic import op

from db.clickhouse.schema import INGEST_TABLES, drops

revision = "ch0002"
down_revision = "ch0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in INGEST_TABLES:
        op.execute(statement)


def downgrade() -> None:
    for statement in drops(INGEST_TABLES):
        op.execute(statement)
