"""Content findings many people share on one day: a team at work, not an insider.

An incident-response team searching credentials words and dozens of mailboxes it never
searched before raises a sensitive-terms and a breadth finding for each member; judged one
by one, each looks new. When at least `SURGE_PEOPLE` people, and `SURGE_SHARE` of the people
searching that day, raise the same content rule on the same day, the day is the team's: those
findings are dropped, except for anyone far above the cohort (more than `FAR_ABOVE` × its
median `observed`), who is judged alone as the volume rules judge people above a surge. The
same constants as the volume rules' surge cohort (`counts.py`): chosen there on the
project's generator, not on the data the rules are measured on.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import median

from ingest.detect.counts import SURGE_PEOPLE, SURGE_SHARE
from ingest.detect.finding import Finding

CONTENT_RULES = ("sensitive_terms", "breadth")
FAR_ABOVE = 2.0
"""As in `counts.group_moods`: a member up to twice the cohort's median is explained by it."""


def without_team_days(findings: list[Finding], searching: int) -> list[Finding]:
    """`findings` of one day without the content findings a cohort shares; `searching` is
    how many people searched that day."""
    shared: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.rule in CONTENT_RULES:
            shared[finding.rule].append(finding)
    dropped: set[int] = set()
    for members in shared.values():
        if len(members) < max(SURGE_PEOPLE, SURGE_SHARE * searching):
            continue
        usual = median(_observed(member) for member in members)
        dropped |= {id(m) for m in members if _observed(m) <= FAR_ABOVE * usual}
    return [finding for finding in findings if id(finding) not in dropped]


def _observed(finding: Finding) -> float:
    value = finding.figures.get("observed", 0)
    return float(value) if isinstance(value, int | float) else 0.0
