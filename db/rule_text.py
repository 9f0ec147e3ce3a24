"""Each rule's plain name and one-line description, for people who never read the rules file.

The Alerts page shows them beside the internal rule names (`volume_spike`); a test checks
that every rule in `db.alerts.RULES` has an entry, so a new rule cannot ship unexplained.
Plain text only: no Markdown, the page shows these in tables and captions as typed.
"""

from __future__ import annotations

RULE_TEXT: dict[str, tuple[str, str]] = {
    "volume_spike": (
        "Volume spike",
        "Far more searches in a day than this person usually makes.",
    ),
    "peer_outlier": (
        "Far above peers",
        "Searched far more in a day than the people in their peer group usually do.",
    ),
    "unusual_time": (
        "Unusual hours",
        "Searches at hours or on a weekday improbable for this person and their peers.",
    ),
    "dormant_searcher": (
        "Dormant account active",
        "An address silent for weeks, or never seen before, suddenly searched a lot.",
    ),
    "breadth": (
        "Many new mailboxes",
        "Searched many mailboxes in a day that this person had never searched before.",
    ),
    "sensitive_terms": (
        "Sensitive words",
        "HR, M&A, legal, credentials or finance words new to the person, or far above their "
        "own routine.",
    ),
    "missing_reason": (
        "No search reason",
        "Searches without a reason, or with a boilerplate one, where reasons are required.",
    ),
    "system_volume": (
        "System sender surge",
        "A system or API sender searched far more than its own usual daily volume.",
    ),
    "accumulated_risk": (
        "Risk building up over days",
        "Small signals and alerts on several days add up, halving each week, past the threshold.",
    ),
}
"""Rule → (plain name, one-line description)."""


def rule_name(rule: str) -> str:
    """The plain name of `rule`, or the rule itself when it has none (a newer database)."""
    return RULE_TEXT.get(rule, (rule, ""))[0]


def rule_description(rule: str) -> str:
    return RULE_TEXT.get(rule, (rule, ""))[1]
