"""Unusual time: searching in hours, or on days, that the user almost never searches in.

Hours: a user's habit is their share of searches in each local hour of the day over the
baseline window, smoothed towards the tenant's office hours so that a short history does
not make every new hour look rare. A night shift that always searches at night has a night
habit, and stays quiet.

Days: a non-office day (by `office_days`) is unusual for a user who searched on almost none
of the non-office days of the window, and only with a workload of at least `day_ratio`
times their usual day: someone finishing a little work on a Saturday is not an incident,
a full day of searching from an account that never works weekends is.
"""

from __future__ import annotations

import numpy as np

from ingest.detect.config import DetectionConfig
from ingest.detect.counts import DayContext
from ingest.detect.features import CountGrid, office_day_flags
from ingest.detect.finding import Finding, number, plural

HOURS = 24


def office_prior(config: DetectionConfig) -> np.ndarray:
    """Share per local hour of someone who keeps office hours: 90 % spread over the office
    hours, 10 % over every hour."""
    general = config.general
    prior = np.full(HOURS, 0.1 / HOURS)
    office = np.arange(general.office_start, general.office_end)
    prior[office] += 0.9 / len(office)
    return prior


def _hour_profiles(grid: CountGrid, first_day: int, day: int, users: np.ndarray) -> np.ndarray:
    """users × 24 searches per local hour on days [first_day, day), for the `users` mask."""
    lo, hi = np.searchsorted(grid.slot_day, [first_day, day])
    who = grid.slot_user[lo:hi]
    keep = users[who]
    profile = np.zeros((len(grid.emails), HOURS), dtype=np.float64)
    hours = grid.slot[lo:hi][keep] % HOURS
    np.add.at(profile, (who[keep], hours), grid.slot_count[lo:hi][keep])
    return profile


def _hour_ranges(hours: list[int]) -> str:
    ranges: list[str] = []
    start = previous = hours[0]
    for hour in [*hours[1:], None]:
        if hour is not None and hour == previous + 1:
            previous = hour
            continue
        ranges.append(f"{start:02d}:00–{previous + 1:02d}:00")
        if hour is not None:
            start = previous = hour
    return ", ".join(ranges)


def score_unusual_time(
    grid: CountGrid, ctx: DayContext, config: DetectionConfig, active_days: np.ndarray
) -> list[Finding]:
    rule = config.rules.unusual_time
    general = config.general
    if not rule.enabled:
        return []
    today = grid.counts[:, ctx.column]
    eligible = (
        (today >= rule.min_searches) & ~ctx.system & (active_days >= general.min_history_days)
    )
    if not eligible.any():
        return []
    window = slice(max(0, ctx.column - general.baseline_days), ctx.column)
    window_days = np.arange(window.start, window.stop) + grid.first_day
    off_days = office_day_flags(window_days, config) == 0
    today_off = bool(office_day_flags(np.array([ctx.day]), config)[0] == 0)
    profiles = _hour_profiles(grid, ctx.day - general.baseline_days, ctx.day, eligible)
    prior = office_prior(config)
    rows = grid.slot_rows(ctx.day)
    findings: list[Finding] = []
    for user in np.flatnonzero(eligible):
        email = grid.emails[user]
        if ctx.allowed(email, rule.allow):
            continue
        count = int(today[user])
        total = profiles[user].sum()
        share = (profiles[user] + rule.prior_weight * prior) / (total + rule.prior_weight)
        mine = grid.slot_user[rows] == user
        hours = grid.slot[rows][mine] % HOURS
        counts = grid.slot_count[rows][mine]
        rare = share[hours] < rule.rare_share
        observed = int(counts[rare].sum())
        rare_hours = sorted({int(hour) for hour in hours[rare]})
        habit = float(share[rare_hours].sum()) if rare_hours else 0.0
        hour_threshold = max(float(rule.min_searches), rule.min_ratio * count * habit)
        odd_hours = observed >= hour_threshold
        history = grid.counts[user, window]
        usual = float(np.median(history[history > 0]))
        off_active = int((history[off_days] > 0).sum())
        day_threshold = max(float(rule.min_searches), rule.day_ratio * usual)
        odd_day = (
            today_off
            and off_days.sum() >= 4
            and off_active <= rule.rare_day_share * off_days.sum()
            and count >= day_threshold
        )
        if not (odd_hours or odd_day):
            continue
        parts = []
        if odd_hours:
            parts.append(
                f"{observed:,} of {count:,} searches at {_hour_ranges(rare_hours)}, hours that "
                f"held {habit:.1%} of their {int(total):,} searches over the last "
                f"{plural(general.baseline_days, 'day')}"
            )
        if odd_day:
            parts.append(
                f"{count:,} searches on a non-office day (usual day {number(usual)}), having "
                f"searched on {off_active} of the last {int(off_days.sum())} non-office days"
            )
        strength = max(
            observed / hour_threshold if odd_hours else 0.0,
            count / day_threshold if odd_day else 0.0,
        )
        findings.append(
            Finding(
                "unusual_time",
                email,
                ctx.day,
                ctx.lower,
                ctx.upper,
                strength,
                "; ".join(parts),
                {
                    "searches": count,
                    "unusual_hour_searches": observed if odd_hours else 0,
                    "local_hours": rare_hours if odd_hours else [],
                    "hour_habit_share": round(habit, 5),
                    "baseline_searches": int(total),
                    "non_office_day": odd_day,
                    "non_office_days_active": off_active,
                    "non_office_days": int(off_days.sum()),
                    "usual_day": usual,
                },
            )
        )
    return findings
