"""One alert as its detail panel shows it: the listed columns and its stored figures.

Read by id inside the tenant scope, whatever the sidebar's dates: `/alerts?alert=<id>`
opens the alert it names, and an id of a tenant out of scope reads as no alert at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from db.alerts import ALERT_COLUMNS
from db.models import Alert
from db.scope import TenantScope


@dataclass(frozen=True)
class AlertDetail:
    """The alert's listed columns (ALERT_COLUMNS) and its figures, decoded."""

    row: dict[str, Any]
    figures: dict[str, Any]


def alert_detail(engine: Engine, scope: TenantScope, alert_id: int) -> AlertDetail | None:
    """Alert `alert_id` of `scope`, or None (unknown, or another tenant's)."""
    listed = [getattr(Alert, "email_addr" if name == "email" else name) for name in ALERT_COLUMNS]
    statement = select(*listed, Alert.figures).where(
        scope.where(Alert.tenant), Alert.id == alert_id
    )
    with engine.connect() as conn:
        found = conn.execute(statement).first()
    if found is None:
        return None
    values = tuple(found)
    return AlertDetail(dict(zip(ALERT_COLUMNS, values[:-1], strict=True)), _decoded(values[-1]))


def _decoded(figures: str | None) -> dict[str, Any]:
    """The figures as a dict; anything else stored there (old or damaged rows) as nothing."""
    try:
        value = json.loads(figures or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
