"""The searches, rejects, state (kv) and the hourly rollup with its view: the store as
`create_schema` made it before migrations (`IF NOT EXISTS`: such a store adopts it as is).

Revision ID: ch0001
Revises:
"""

from alembic import op

from db.clickhouse.schema import SEARCH_TABLES, drops

revision = "ch0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in SEARCH_TABLES:
        op.execute(statement)


def downgrade() -> None:
    for statement in drops(SEARCH_TABLES):
        op.execute(statement)
