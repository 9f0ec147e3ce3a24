"""A rule's verdict on one user and day, before it is stored as an alert."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Finding:
    rule: str
    email: str
    day: int  # local day number
    window_start: datetime
    window_end: datetime
    strength: float  # how far past its threshold: 1 just fired, 3 three times over
    summary: str
    figures: dict[str, Any]
    evidence: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        if self.strength >= 3:
            return "high"
        if self.strength >= 1.5:
            return "medium"
        return "low"


def times(value: float) -> str:
    """1.1×, 12× — the ratio in a summary."""
    return f"{value:.1f}×" if value < 10 else f"{value:.0f}×"


def number(value: float) -> str:
    """16.2, 2.5, 0.35, 1,234: three significant figures read as well as a threshold's
    sixteen digits (a fitted threshold such as 16.2297 said more than it knows)."""
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def plural(count: int, noun: str) -> str:
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {noun}{'es' if noun.endswith(('s', 'x', 'ch', 'sh')) else 's'}"
