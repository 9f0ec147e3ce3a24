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

downgrade() refuses with a clear error: going back means dropping the tenant from every
key, which silently merges tenants' rows (two accounts' identical searches, their rollup
counts, their cursors) as soon as a second tenant has been ingested.

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
    """What one table gains: where its `tenant` column goes (SQLite keeps the models'
    column order), its new key, unique constraints and indexes, and what they replace."""

    table: str
    after: str | None = None  # the column `tenant` follows; None: it comes first
    primary_key: tuple[str, ...] = ()  # a new primary key, on both databases
    text_key: tuple[str, ...] = ()  # SQLite: the primary key; PostgreSQL: unique ux_<table>_key
    uniques: dict[str, tuple[str, ...]] = field(default_factory=dict)
    drop_pg_constraints: tuple[str, ...] = ()  # PostgreSQL's names of the replaced uniques
    drop_indexes: tuple[str, ...] = ()
    indexes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    with_rowid: bool = True


def _rollup(name: str, key: tuple[str, ...], per_user_index: bool) -> Change:
    index = {f"ix_{name}_email_addr_bucket": ("tenant", "email_addr", "bucket")}
    return Change(
        name,
        text_key=("tenant", *key),
        drop_indexes=tuple(index) if per_user_index else (),
        indexes=index if per_user_index else {},
        with_rowid=False,
    )


PER_USER = ("email_addr", "source", "description", "nulls")
EVERYONE = ("is_system", "source", "description", "nulls")
CHANGES = (
    Change(
        "search_logs",
        after="id",
        uniques={"uq_search_logs_tenant_event_key": ("tenant", "event_key")},
        drop_pg_constraints=("search_logs_event_key_key",),
        drop_indexes=("ix_search_logs_create_time", "ix_search_logs_email_addr_create_time"),
        indexes={
            "ix_search_logs_tenant_create_time": ("tenant", "create_time"),
            "ix_search_logs_tenant_email_addr_create_time": ("tenant", "email_addr", "create_time"),
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
        drop_pg_constraints=("rejected_records_reject_key_key",),
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
    Change(
        "alerts",
        after="account",  # it takes the place of `account`
        uniques={"uq_alerts_one_per_day": ("tenant", "email_addr", "rule", "day")},
        drop_indexes=("ix_alerts_day", "ix_alerts_status_day", "ux_alerts_one_per_day"),
        indexes={
            "ix_alerts_tenant_day": ("tenant", "day"),
            "ix_alerts_tenant_status_day": ("tenant", "status", "day"),
        },
    ),
)
NULLABLE = {"audit_events": {"ix_audit_events_tenant_at": ("tenant", "at")}, "api_tokens": {}}
"""Tables whose `tenant` may be NULL (the installation as a whole): a plain added column."""


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
    accounts = op.get_bind().execute(sa.text("SELECT DISTINCT account FROM alerts")).scalars()
    labels = sorted(accounts)
    if len(labels) > 1:
        raise RuntimeError(
            f"cannot upgrade: alerts carry {len(labels)} account labels ({', '.join(map(repr, labels))}) "
            "and would all become tenant 'default'; delete the alerts of all but one and start again"
        )
    op.execute(sa.text("UPDATE alerts SET account = :tenant").bindparams(tenant=TENANT))


def upgrade() -> None:
    _alerts_to_default()
    rebuild = _rebuild_sqlite if op.get_bind().dialect.name == "sqlite" else _alter_postgresql
    for change in CHANGES:
        rebuild(change)
    for table, indexes in NULLABLE.items():
        op.add_column(table, sa.Column("tenant", sa.String(64), nullable=True))
        op.execute(sa.text(f"UPDATE {table} SET tenant = :tenant").bindparams(tenant=TENANT))
        for name, columns in indexes.items():
            _create_index(table, name, columns)


def _alter_postgresql(change: Change) -> None:
    table = change.table
    if table == "alerts":
        op.alter_column(table, "account", new_column_name="tenant", server_default=None)
        op.alter_column(table, "tenant", type_=sa.String(64), existing_nullable=False)
    else:
        tenant = sa.Column("tenant", sa.String(64), nullable=False, server_default=TENANT)
        op.add_column(table, tenant)
        op.alter_column(table, "tenant", server_default=None, existing_nullable=False)
    for name in change.drop_pg_constraints:
        op.drop_constraint(name, table, type_="unique")
    for name in change.drop_indexes:
        op.drop_index(name, table_name=table)
    if change.primary_key:
        op.drop_constraint(f"{table}_pkey", table, type_="primary")
        op.create_primary_key(f"{table}_pkey", table, list(change.primary_key))
    if change.text_key:
        op.drop_index(f"ux_{table}_key", table_name=table)
        _create_index(table, f"ux_{table}_key", change.text_key, unique=True)
    for name, columns in change.uniques.items():
        if table == "alerts":  # keyed by text_key on PostgreSQL: a unique index
            _create_index(table, "ux_alerts_one_per_day", columns, unique=True)
        else:
            op.create_unique_constraint(name, table, list(columns))
    for name, columns in change.indexes.items():
        _create_index(table, name, columns)


def _tenant_column() -> sa.Column:
    return sa.Column("tenant", sa.String(64), nullable=False)


def _new_sqlite_table(old: sa.Table, change: Change) -> sa.Table:
    """The table as this revision leaves it: the old columns (free-text addresses as TEXT,
    as the models declare them), `tenant` in place, the new keys, the old foreign keys."""
    columns = [] if change.after else [_tenant_column()]
    for column in old.columns:
        if column.name != "account":
            free = column.name == "email_addr"
            default = column.server_default.arg if column.server_default is not None else None
            kind = sa.Text() if free else column.type
            columns.append(
                sa.Column(column.name, kind, nullable=column.nullable, server_default=default)
            )
        if column.name == change.after:
            columns.append(_tenant_column())
    key = change.primary_key or change.text_key or tuple(c.name for c in old.primary_key)
    constraints: list[sa.Constraint] = [sa.PrimaryKeyConstraint(*key)]
    constraints += [sa.UniqueConstraint(*c, name=n) for n, c in change.uniques.items()]
    for fk in old.foreign_key_constraints:
        targets = [f"{e.column.table.name}.{e.column.name}" for e in fk.elements]
        constraints.append(sa.ForeignKeyConstraint(list(fk.column_keys), targets))
    return sa.Table(
        f"_new_{old.name}",
        old.metadata,
        *columns,
        *constraints,
        sqlite_with_rowid=change.with_rowid,
    )


def _rebuild_sqlite(change: Change) -> None:
    """Copy the table once into its new shape, every row under `default`."""
    conn = op.get_bind()
    old = sa.Table(change.table, sa.MetaData(), autoload_with=conn)
    kept = {i.name: tuple(c.name for c in i.columns) for i in old.indexes}
    new = _new_sqlite_table(old, change)
    new.create(conn)
    names = [column.name for column in new.columns]
    values = [
        ("account" if change.table == "alerts" else f"'{TENANT}'") if n == "tenant" else _quote(n)
        for n in names
    ]
    op.execute(
        f"INSERT INTO {new.name} ({', '.join(map(_quote, names))}) "
        f"SELECT {', '.join(values)} FROM {change.table}"
    )
    op.execute(f"DROP TABLE {change.table}")
    op.execute(f"ALTER TABLE {new.name} RENAME TO {change.table}")
    for name, columns in kept.items():
        if name not in change.drop_indexes:
            _create_index(change.table, name, columns)
    for name, columns in change.indexes.items():
        _create_index(change.table, name, columns)


def downgrade() -> None:
    raise RuntimeError(
        "revision 0011 (tenants) cannot be undone: the tenant is part of every key, and "
        "removing it would merge tenants' rows; restore the backup taken before the upgrade"
    )
