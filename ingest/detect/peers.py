"""Peer groups: whom a person is compared with when their own history is thin, and whose
surge explains theirs.

Why groups and not the whole tenant: a rare admin judged against everyone (heavy admins
included) is nearly blind, and an incident-response team's busy day should lower the
surprise of that team, not hide an insider elsewhere. Groups come from an optional mapping
file (`general.peers_file`, CSV `address,group`, e.g. exported from the directory);
people it does not name are grouped by behaviour over the baseline window (the hours they
keep and how much they search on an active day). A group smaller than
`general.min_group_size` falls back to the whole tenant, the last resort.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.detect.config import DetectionConfig, DetectionConfigError
from ingest.detect.features import CountGrid

TENANT_GROUP = "the whole tenant"


def read_peer_file(path: Path) -> tuple[tuple[str, str], ...]:
    """(address, group) pairs of a CSV `address,group` file (a header line is allowed);
    a mistake is one line naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DetectionConfigError(f"general.peers_file {path} cannot be read: {exc}") from None
    pairs: dict[str, str] = {}
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not "".join(row).strip():
            continue
        cells = [cell.strip() for cell in row]
        if number == 1 and [c.lower() for c in cells] == ["address", "group"]:
            continue
        if len(cells) != 2 or "@" not in cells[0] or not cells[1]:
            raise DetectionConfigError(
                f"general.peers_file {path}: line {number} must be 'address,group', got "
                f"{','.join(cells)[:80]!r}"
            )
        pairs[cells[0].lower()] = cells[1]
    if not pairs:
        raise DetectionConfigError(f"general.peers_file {path} names nobody")
    return tuple(sorted(pairs.items()))


@dataclass(frozen=True)
class Peers:
    """A group index per user (-1: the whole tenant) and each group's name."""

    group: np.ndarray
    names: tuple[str, ...]
    people: np.ndarray  # bool per user: not a system sender
    mapped: np.ndarray  # bool per user: their group comes from the peers file

    def members(self, user: int) -> np.ndarray:
        """Mask of the people `user` is compared with (themself included)."""
        if self.group[user] < 0:
            return self.people
        return self.people & (self.group == self.group[user])

    def name(self, user: int) -> str:
        return TENANT_GROUP if self.group[user] < 0 else self.names[self.group[user]]


KEEPS = ("office hours", "mixed hours", "out of office hours")
SIZES = ("under 10", "10 to 50", "over 50")


def _learned_labels(counts: np.ndarray, masks: np.ndarray, config: DetectionConfig) -> list[str]:
    """Per user, 'learned: office hours, under 10 searches a day'-like labels from the
    window (the hours they keep on their active days, their median active day); '' for
    users silent in it."""
    general = config.general
    office = sum(1 << hour for hour in range(general.office_start, general.office_end))
    active = counts > 0
    days = active.sum(axis=1)
    seen = np.maximum(days, 1)
    outside = (((masks & ~office) != 0) & active).sum(axis=1) / seen
    inside = (((masks & office) != 0) & active).sum(axis=1) / seen
    keeps = np.where(outside < 0.25, 0, np.where(inside < 0.25, 2, 1))
    values = np.where(active, counts, np.nan).astype(np.float64)
    with np.errstate(all="ignore"):
        usual = np.nanmedian(np.where(days[:, None] > 0, values, 0.0), axis=1)
    sizes = np.where(usual < 10, 0, np.where(usual < 50, 1, 2))
    return [
        f"learned: {KEEPS[k]}, {SIZES[z]} searches a day" if d else ""
        for k, z, d in zip(keeps.tolist(), sizes.tolist(), days.tolist(), strict=True)
    ]


def peer_groups(grid: CountGrid, column: int, system: np.ndarray, config: DetectionConfig) -> Peers:
    """Each user's peer group as of day `column` (from the window before it)."""
    general = config.general
    window = slice(max(0, column - general.baseline_days), column)
    mapped = dict(config.peer_map)
    labels = _learned_labels(grid.counts[:, window], grid.hour_masks[:, window], config)
    for user, email in enumerate(grid.emails):
        mapped_group = mapped.get(email.lower()) if mapped else None
        if system[user]:
            labels[user] = ""
        elif mapped_group is not None:
            labels[user] = f"file: {mapped_group}"
    names = sorted({label for label in labels if label})
    index = {name: position for position, name in enumerate(names)}
    group = np.array([index.get(label, -1) for label in labels], dtype=np.int64)
    sizes = np.bincount(group[group >= 0], minlength=len(names))
    small = (group >= 0) & (sizes[np.maximum(group, 0)] < general.min_group_size)
    group[small] = -1
    mapped_users = np.array([label.startswith("file: ") for label in labels], dtype=bool)
    return Peers(group=group, names=tuple(names), people=~system, mapped=mapped_users)
