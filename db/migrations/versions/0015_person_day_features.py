"""person day features: the detector's per-person, per-local-day text features

`person_day_features` holds what `detect` read from each person's searches of a day;
`feature_days` the data version and rules fingerprint each day was read with. New tables
only: an existing database's features are read from its searches by the next `detect`
(ingest/detect/feature_store.py).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_day_features",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("email_addr", sa.Text(), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "day", "email_addr"),
    )
    op.create_table(
        "feature_days",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("searches", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "day"),
    )


def downgrade() -> None:
    op.drop_table("feature_days")
    op.drop_table("person_day_features")
