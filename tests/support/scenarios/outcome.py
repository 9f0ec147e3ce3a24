"""What a scenario found: its counts against the truth, the faults it injected and the rules it
checked; CannotRun when the machine lacks what a scenario needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SETTLE_SECONDS = 120  # on-time simulator events appear within a minute of their createTime
MB = 1024 * 1024


# --- outcome ------------------------------------------------------------------------------


class CannotRun(Exception):
    """The machine lacks what a scenario needs (a PostgreSQL server, root for a tmpfs)."""


@dataclass
class Outcome:
    """What a scenario checked: the tally against the truth, and each rule it held or broke."""

    events_checked: int = 0
    stored: int = 0
    lost: int = 0
    duplicates: int = 0
    malformed_served: int = 0
    rejects_accounted: int = 0
    rejects_unexplained: int = 0  # rows for records never served
    rejects_doubled: int = 0  # extra rows for a record served once
    faults: int = 0
    rules: dict[str, bool] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    def rule(self, name: str, held: object) -> bool:
        """Record a rule; a rule checked several times holds only if it held every time."""
        self.rules[name] = self.rules.get(name, True) and bool(held)
        return bool(held)

    @property
    def broken(self) -> list[str]:
        return [name for name, held in self.rules.items() if not held]

    @property
    def exact(self) -> bool:
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.rejects_accounted == self.malformed_served
            and self.rejects_unexplained == 0
        )

    def problems(self) -> list[str]:
        """Every way the scenario failed, for an assertion message; empty when it passed."""
        found = [f"rule broken: {name}" for name in self.broken]
        if self.events_checked == 0:
            found.append("no event was checked")
        if not self.exact:
            found.append(
                f"lost {self.lost}, duplicates {self.duplicates}, rejects accounted "
                f"{self.rejects_accounted}/{self.malformed_served}, rejects of records never "
                f"served {self.rejects_unexplained}"
            )
        return found
