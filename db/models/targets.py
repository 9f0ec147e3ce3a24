"""What each search targeted (`ingest.targets`): one row per mailbox, filter, message id or
mentioned address, keyed to its search by the search's own key (tenant, event_key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base
from db.models.types import UtcDateTime


class SearchTarget(Base):
    """One target of one search. `create_time` is the search's, copied here (a search never
    changes) so a mailbox's searches in a period are read from this table's index alone.
    Values are at most `ingest.targets.MAX_VALUE` characters: plain keys on both backends."""

    __tablename__ = "search_targets"

    tenant: Mapped[str] = mapped_column(String(64))
    event_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # mailbox | filter | message | mentioned
    field: Mapped[str] = mapped_column(String(32))  # a filter's field (`route`), else ""
    value: Mapped[str] = mapped_column(String(320))
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        PrimaryKeyConstraint("tenant", "event_key", "kind", "field", "value"),
        Index("ix_search_targets_lookup", "tenant", "kind", "value", "create_time"),
        Index("ix_search_targets_period", "tenant", "kind", "create_time"),
    )
