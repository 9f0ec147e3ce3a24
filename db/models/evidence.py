"""Tamper evidence (issue 18 §3): the chained digest of each sealed day, and the results
of `python -m ingest verify`. Written by `db.seals`; docs/evidence.md defines the digest."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base
from db.models.types import UtcDateTime

INSTALLATION_CHAIN = "*"
"""The chain of the audit trail's rows of no tenant (NULL): never a tenant's name."""


class Seal(Base):
    """One link of a chain: a day sealed (`kind` seal) or searches a sweep stored into a
    sealed day later (`kind` amendment). `position` orders the links of one chain (a
    tenant's, or the installation's), each link's digest covering the one before."""

    __tablename__ = "seals"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date)  # the UTC day the rows belong to
    kind: Mapped[str] = mapped_column(String(16))  # seal | amendment
    first_search_id: Mapped[int] = mapped_column(BigInteger)  # covered: first < id <= last
    last_search_id: Mapped[int] = mapped_column(BigInteger)
    last_run_id: Mapped[int] = mapped_column(BigInteger)  # newest ingest run when sealed
    searches: Mapped[int] = mapped_column(Integer)
    audit_rows: Mapped[int] = mapped_column(Integer)
    previous: Mapped[str] = mapped_column(String(64))  # the previous link's digest (hex)
    digest: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_seals_tenant_day", "tenant", "day"),)


class SealCheck(Base):
    """One chain checked by `python -m ingest verify`: when, whether it held, and the
    problems found (one per line), for the status page."""

    __tablename__ = "seal_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    links: Mapped[int] = mapped_column(Integer)
    problems: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_seal_checks_tenant_checked_at", "tenant", "checked_at"),)
