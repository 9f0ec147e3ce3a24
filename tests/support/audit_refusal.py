"""A database whose audit trail refuses every new row, for real: a trigger on
`audit_events` that raises inside the inserting transaction (SQLite `RAISE(ABORT)`, a
PL/pgSQL function on PostgreSQL), so an admin action and its row must fail together."""

from __future__ import annotations

from sqlalchemy import Engine, text

REFUSAL = "the audit trail refuses this row (test trigger)"


def refuse_audit_rows(engine: Engine) -> None:
    """From now on every insert into `audit_events` fails in its own transaction."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse_audit_row() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_audit_row BEFORE INSERT ON audit_events "
                "FOR EACH ROW EXECUTE FUNCTION refuse_audit_row()"
            )
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_audit_row BEFORE INSERT ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )


def accept_audit_rows(engine: Engine) -> None:
    """Drop the trigger again: the trail accepts rows."""
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_audit_row" + _on(conn.dialect.name)))


def _on(dialect: str) -> str:
    return " ON audit_events" if dialect == "postgresql" else ""


def audit_row_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one())
