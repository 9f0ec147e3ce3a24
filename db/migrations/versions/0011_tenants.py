"""tenants: every tenant's row carries its tenant, in every key (issue 16)

Every existing row moves under the tenant `default` (the one Mimecast account the
installation served), on SQLite and PostgreSQL, with nothing lost:
- a `tenant` column (String(64), NOT NULL, no default: a write that forgets it fails) on
  every table of a tenant's data, and in the keys and indexes that need it;
- `alerts.account` becomes `tenant` ("" and the detector's account label -> `default`);
- `audit_events.tenant` and `api_tokens.tenant` are nullable (NULL: the installation as a
  whole, a platform token); existing events and tokens are the `default` tenant's, so an
  existing viewer token stays inside it when more tenants are added.

PostgreSQL changes the tables in place (ALTER TABLE; adding a column with a constant
default and dropping the default rewrites nothing). SQLite cannot alter keys or drop a
default, so each table is copied once into a new one, as SQLite documents it ("making
other kinds of table schema changes"), built from the old table reflected plus the changes
below; `db/migrations/env.py` turns foreign keys off around it and checks them before
committing. The changes are written out here, not read from `db.models`, so this revision
does the same thing when the models move on.

downgrade() goes back to 0010 exactly (alerts' account "" again) while every row is the
`default` tenant's; once another tenant's rows are stored it refuses, as dropping the
tenant from the keys would merge tenants' rows (identical searches, rollup counts, cursors).
Audit rows and tokens of the installation as a whole (tenant NULL) are kept, without one.

Revision ID: 0011
Revises: 0010
"""

from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic import op

from db.models.types import text_key_sql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TENANT = "default"
FREE_TEXT = ("email_addr", "source", "description", "value")
"""Columns indexed by `text_key` on PostgreSQL (a value of any length fits a btree entry)."""


@dataclass(frozen=True)
class Change:
    """What one table gains, and what it had at 0010: where `tenant` goes (SQLite keeps the
    models' column order), the keys, unique constraints and indexes it replaces."""

    table: str
    after: str | None = None  # the column `tenant` follows; None: it comes first
    primary_key: tuple[str, ...] = ()  # a new primary key, on both databases
    text_key: tuple[str, ...] = ()  # SQLite: the primary key; PostgreSQL: unique ux_<table>_key
    uniques: dict[str, tuple[str, ...]] = field(default_factory=dict)
    old_uniques: dict[str, tuple[str, ...]] = field(default_factory=dict)  # PostgreSQL names
    indexes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    old_indexes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    with_rowid: bool = True

    def key(self, up: bool) -> tuple[str, ...]:
        columns = self.primary_key or self.text_key
        return columns if up else tuple(c for c in columns if c != "tenant")


def _rollup(name: str, key: tuple[str, ...], per_user_index: bool) -> Change:
    index: dict[str, tuple[str, ...]] = {
        f"ix_{name}_email_addr_bucket": ("tenant", "email_addr", "bucket")
    }
    old_index: dict[str, tuple[str, ...]] = {
        f"ix_{name}_email_addr_bucket": ("email_addr", "bucket")
    }
    return Change(
        name,
        text_key=("tenant", *key),
        indexes=index if per_user_index else {},
        old_indexes=old_index if per_user_index else {},
        with_rowid=False,
    )


PER_USER = ("email_addr", "source", "description", "nulls")
EVERYONE = ("is_system", "source", "description", "nulls")
ALERTS = Change(  # `tenant` takes the place of `account`, in the column order and the key
    "alerts",
    after="account",
    uniques={"uq_alerts_one_per_day": ("tenant", "email_addr", "rule", "day")},
    indexes={
        "ix_alerts_tenant_day": ("tenant", "day"),
        "ix_alerts_tenant_status_day": ("tenant", "status", "day"),
    },
    old_indexes={"ix_alerts_day": ("day",), "ix_alerts_status_day": ("status", "day")},
)
CHANGES = (
    Change(
        "search_logs",
        after="id",
        uniques={"uq_search_logs_tenant_event_key": ("tenant", "event_key")},
        old_uniques={"search_logs_event_key_key": ("event_key",)},
        indexes={
            "ix_search_logs_tenant_create_time": ("tenant", "create_time"),
            "ix_search_logs_tenant_email_addr_create_time": ("tenant", "email_addr", "create_time"),
        },
        old_indexes={
            "ix_search_logs_create_time": ("create_time",),
            "ix_search_logs_email_addr_create_time": ("email_addr", "create_time"),
        },
    ),
    Change("kv", primary_key=("tenant", "key")),
    Change(
        "ingest_runs",
        after="id",
        indexes={"ix_ingest_runs_tenant_started_at": ("tenant", "started_at")},
    ),
    Change(
        "rejected_records",
        after="id",
        uniques={"uq_rejected_records_tenant_reject_key": ("tenant", "reject_key")},
        old_uniques={"rejected_records_reject_key_key": ("reject_key",)},
    ),
    Change("filter_values", text_key=("tenant", "kind", "value")),
    _rollup("rollup_user_hour", ("bucket", *PER_USER), per_user_index=True),
    _rollup("rollup_user_day", ("bucket", *PER_USER), per_user_index=True),
    _rollup("rollup_user_month", ("bucket", *PER_USER), per_user_index=False),
    _rollup("rollup_user_all", PER_USER, per_user_index=False),
    _rollup("rollup_hour", ("bucket", *EVERYONE), per_user_index=False),
    _rollup("rollup_day", ("bucket", *EVERYONE), per_user_index=False),
    _rollup("rollup_user_hour_total", ("email_addr", "bucket"), per_user_index=False),
    _rollup("rollup_user_day_total", ("email_addr", "bucket"), per_user_index=False),
    Change("forward_cursors", after="destination", primary_key=("destination", "tenant")),
    Change("forward_dead_letters", after="destination"),
    ALERTS,
)
NULLABLE = {"audit_events": {"ix_audit_events_tenant_at": ("tenant", "at")}, "api_tokens": {}}
"""Tables whose `tenant` may be NULL (the installation as a whole): a plain added column."""
ONE_PER_DAY = ("account", "email_addr", "rule", "day")  # the alerts' key at 0010


def _refuse(message: str) -> None:
    """Stop the migration (rolled back whole) with one line: raised as a database error,
    so `db.engine.upgrade_schema` reports it as it reports a database it cannot upgrade."""
    raise sa.exc.DatabaseError(message, None, RuntimeError(message))


def _quote(name: str) -> str:
    return op.get_bind().dialect.identifier_preparer.quote(name)


def _create_index(table: str, name: str, columns: tuple[str, ...], unique: bool = False) -> None:
    dialect = op.get_bind().dialect.name
    keyed = [text_key_sql(c, dialect) if c in FREE_TEXT else _quote(c) for c in columns]
    kind = "UNIQUE INDEX" if unique else "INDEX"
    op.execute(f"CREATE {kind} {name} ON {table} ({', '.join(keyed)})")


def _alerts_to_default() -> None:
    """Alerts carried the detector's account label ("" unless `general.account` was set):
    all of them are the one account's. Two labels could collide under one tenant: stop."""
    labels = sorted(op.get_bind().execute(sa.text("SELECT DISTINCT account FROM alerts")).scalars())
    if len(labels) > 1:
        _refuse(
            f"cannot upgrade to tenants: alerts carry {len(labels)} account labels "
            f"({', '.join(map(repr, labels))}) that would all become tenant 'default'; "
            "delete the alerts of all but one label, then start again"
        )
    op.execute(sa.text("UPDATE alerts SET account = :tenant").bindparams(tenant=TENANT))


def upgrade() -> None:
    for change in CHANGES:
        if change.table == "alerts":
            _alerts_to_default()
        _change(change, up=True)
    for table, indexes in NULLABLE.items():
        op.add_column(table, sa.Column("tenant", sa.String(64), nullable=True))
        op.execute(sa.text(f"UPDATE {table} SET tenant = :tenant").bindparams(tenant=TENANT))
        for name, columns in indexes.items():
            _create_index(table, name, columns)


def downgrade() -> None:
    tables = [change.table for change in CHANGES] + list(NULLABLE)
    for table in tables:
        other = f"SELECT count(*) FROM {table} WHERE tenant <> :tenant"
        if op.get_bind().execute(sa.text(other), {"tenant": TENANT}).scalar_one():
            _refuse(
                f"cannot go back before tenants: {table} holds rows of tenants other than "
                f"'{TENANT}', which the old keys would merge; restore a backup instead"
            )
    for table, indexes in NULLABLE.items():
        for name in indexes:
            op.drop_index(name, table_name=table)
        op.execute(f"ALTER TABLE {table} DROP COLUMN tenant")
    for change in reversed(CHANGES):
        _change(change, up=False)


def _change(change: Change, up: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(change, up)
    elif up:
        _alter_postgresql_up(change)
    else:
        _alter_postgresql_down(change)


def _alter_postgresql_up(change: Change) -> None:
    table = change.table
    if table == "alerts":
        op.alter_column(table, "account", new_column_name="tenant", server_default=None)
        op.alter_column(table, "tenant", type_=sa.String(64), existing_nullable=False)
        op.drop_index("ux_alerts_one_per_day", table_name=table)  # made again below
    else:
        tenant = sa.Column("tenant", sa.String(64), nullable=False, server_default=TENANT)
        op.add_column(table, tenant)
        op.alter_column(table, "tenant", server_default=None, existing_nullable=False)
    for name in change.old_uniques:
        op.drop_constraint(name, table, type_="unique")
    for name in change.old_indexes:
        op.drop_index(name, table_name=table)
    _postgresql_keys(change, up=True)
    for name, columns in change.indexes.items():
        _create_index(table, name, columns)


def _alter_postgresql_down(change: Change) -> None:
    table = change.table
    for name in change.indexes:
        op.drop_index(name, table_name=table)
    if table == "alerts":
        op.drop_index("ux_alerts_one_per_day", table_name=table)
        op.execute("UPDATE alerts SET tenant = ''")
        op.alter_column(table, "tenant", new_column_name="account", type_=sa.String(128))
        op.alter_column(table, "account", server_default="", existing_nullable=False)
        _create_index(table, "ux_alerts_one_per_day", ONE_PER_DAY, unique=True)
    else:
        for name in change.uniques:
            op.drop_constraint(name, table, type_="unique")
        op.drop_column(table, "tenant")  # its key and indexes go with it
        _postgresql_keys(change, up=False)
    for name, columns in change.old_uniques.items():
        op.create_unique_constraint(name, table, list(columns))
    for name, columns in change.old_indexes.items():
        _create_index(table, name, columns)


def _postgresql_keys(change: Change, up: bool) -> None:
    """The key (and, going up, the unique constraints) with or without the tenant."""
    table = change.table
    if change.primary_key:
        if up:
            op.drop_constraint(f"{table}_pkey", table, type_="primary")
        op.create_primary_key(f"{table}_pkey", table, list(change.key(up)))
    if change.text_key:
        if up:
            op.drop_index(f"ux_{table}_key", table_name=table)
        _create_index(table, f"ux_{table}_key", change.key(up), unique=True)
    for name, columns in change.uniques.items() if up else ():
        if table == "alerts":  # keyed by text_key on PostgreSQL: a unique index
            _create_index(table, "ux_alerts_one_per_day", columns, unique=True)
        else:
            op.create_unique_constraint(name, table, list(columns))


def _sqlite_columns(old: sa.Table, change: Change, up: bool) -> list[sa.Column]:
    """The old columns with `tenant` added (up) or taken out (down); addresses TEXT going up,
    as the models declare them, and VARCHAR(320) going down, as 0001 and 0004 made them."""
    alerts = change.table == "alerts"
    columns = [] if change.after or not up else [sa.Column("tenant", sa.String(64), nullable=False)]
    for column in old.columns:
        kind, default = column.type, column.server_default
        if column.name == "email_addr" and not alerts:
            kind = sa.Text() if up else sa.String(320)
        if column.name == ("account" if up else "tenant") and alerts:
            column_name, kind = ("tenant", sa.String(64)) if up else ("account", sa.String(128))
            columns.append(
                sa.Column(column_name, kind, nullable=False, server_default=None if up else "")
            )
        elif up or column.name != "tenant":
            arg = default.arg if isinstance(default, sa.DefaultClause) else None
            assert arg is None or isinstance(arg, str | sa.TextClause)  # reflected: text()
            columns.append(
                sa.Column(column.name, kind, nullable=column.nullable, server_default=arg)
            )
        if up and column.name == change.after and not alerts:
            columns.append(sa.Column("tenant", sa.String(64), nullable=False))
    return columns


def _sqlite_table(old: sa.Table, change: Change, up: bool) -> sa.Table:
    """The table as this revision leaves it (up) or found it (down), foreign keys kept."""
    constraints: list[sa.Constraint] = [
        sa.PrimaryKeyConstraint(*(change.key(up) or [c.name for c in old.primary_key]))
    ]
    if up:
        constraints += [sa.UniqueConstraint(*c, name=n) for n, c in change.uniques.items()]
    elif change.table == "alerts":
        constraints.append(sa.UniqueConstraint(*ONE_PER_DAY, name="uq_alerts_one_per_day"))
    else:  # 0001 left these unnamed on SQLite
        constraints += [sa.UniqueConstraint(*c) for c in change.old_uniques.values()]
    for fk in old.foreign_key_constraints:
        targets = [f"{e.column.table.name}.{e.column.name}" for e in fk.elements]
        constraints.append(sa.ForeignKeyConstraint(list(fk.column_keys), targets))
    return sa.Table(
        f"_new_{old.name}",
        old.metadata,
        *_sqlite_columns(old, change, up),
        *constraints,
        sqlite_with_rowid=change.with_rowid,
    )


def _rebuild_sqlite(change: Change, up: bool) -> None:
    """Copy the table once into its new shape: every row under `default` going up (alerts'
    tenant from their account), the account "" again going down."""
    conn = op.get_bind()
    old = sa.Table(change.table, sa.MetaData(), autoload_with=conn)
    new = _sqlite_table(old, change, up)
    new.create(conn)
    names = [column.name for column in new.columns]
    filled = {"tenant": "account" if change.table == "alerts" else f"'{TENANT}'", "account": "''"}
    values = [filled[n] if n in filled else _quote(n) for n in names]
    op.execute(
        f"INSERT INTO {new.name} ({', '.join(map(_quote, names))}) "
        f"SELECT {', '.join(values)} FROM {change.table}"
    )
    op.execute(f"DROP TABLE {change.table}")
    op.execute(f"ALTER TABLE {new.name} RENAME TO {change.table}")
    replaced, added = (
        (change.old_indexes, change.indexes) if up else (change.indexes, change.old_indexes)
    )
    for index in old.indexes:
        if index.name not in replaced:
            _create_index(change.table, str(index.name), tuple(c.name for c in index.columns))
    for name, columns in added.items():
        _create_index(change.table, name, columns)
