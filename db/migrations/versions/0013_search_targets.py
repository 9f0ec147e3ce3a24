"""search targets: what each search was aimed at, in its own table (issue 18 §1)

`search_targets` holds one row per mailbox (`[User : x@y]`), filter (`[Route : inbound]`),
message id and mentioned address of a search, keyed to the search by (tenant, event_key),
indexed for lookup by (tenant, kind, value) and by (tenant, kind, time).

The upgrade also fills it from every search already stored, by the ingest's own parser
(`ingest.targets`), in the upgrade's transaction: every entry point opens the database
through `db.engine.open_database`, which upgrades, so no installation ever shows a
Mailboxes page that misses its older searches, and no operator step is needed. (The parser
is read from the product, not frozen here: a later upgrade finds what the parser of its
day finds. `python -m ingest targets --backfill` parses again after the parser learns a
form.) 300,000 stored searches took 49 s on a shared 2-core machine (docs/targets.md).

downgrade() drops the table: the searches keep their text, nothing else is lost.

Revision ID: 0013
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from db.scope import TenantScope
from ingest.target_rows import backfill

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_targets",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("event_key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("value", sa.String(320), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant", "event_key", "kind", "field", "value"
        ),
    )
    op.create_index(
        "ix_search_targets_lookup", "search_targets", ["tenant", "kind", "value", "create_time"]
    )
    op.create_index("ix_search_targets_period", "search_targets", ["tenant", "kind", "create_time"])
    backfill(op.get_bind(), TenantScope.every_tenant())


def downgrade() -> None:
    op.drop_index("ix_search_targets_period", table_name="search_targets")
    op.drop_index("ix_search_targets_lookup", table_name="search_targets")
    op.drop_table("search_targets")
