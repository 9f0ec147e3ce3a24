"""What the detector read from each person's searches of each local day, kept by
`python -m ingest detect` (`ingest.detect.feature_store`) so that a new day reads its
people's history from here instead of parsing months of search texts again."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base


class PersonDayFeatures(Base):
    """One person's text features of one local day in DISPLAY_TZ (JSON: mailboxes targeted,
    sensitive terms by search and category, weak reasons, first and last search), valid
    while the day's row in `feature_days` matches the data and the rules (migration 0015)."""

    __tablename__ = "person_day_features"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    email_addr: Mapped[str] = mapped_column(Text, primary_key=True)
    searches: Mapped[int] = mapped_column(Integer)
    features: Mapped[str] = mapped_column(Text)


class FeatureDay(Base):
    """A local day whose features are stored: the data version they were read from (the
    tenant's searches that day, as `scored_days` counts them) and the fingerprint of the
    zone and rules that read them. Either changed (a late search, a new rules file): the
    day is read from the searches again."""

    __tablename__ = "feature_days"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    searches: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[str] = mapped_column(String(64))
