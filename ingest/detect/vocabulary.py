"""Sensitive vocabulary by category (hr, mna, legal, credentials, finance), matched with
simple stemming and phrase variants, so that "salaries", "laid off" and "M&A" are found as
well as "salary", "layoff" and "merger".

Why categories: a compliance officer who searches HR words every week is judged against
their own HR routine, yet their first M&A search still stands out; one flat list could only
exempt them from everything. Why stemming of our own: a few suffix rules (plural, -ing,
-ed, a final e) are enough for search phrases and need no dependency; what the vocabulary
cannot stem (layoff / laid off / redundancy) is listed as a variant.

A match is reported as the literal substring of the search text (lower-case), which is
what the alert's evidence names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ingest.detect.stats import percentile

DEFAULT_VOCABULARY: dict[str, tuple[str, ...]] = {
    "hr": (
        "salary", "payslip", "pay slip", "payroll", "pay rise", "pay raise", "pay review",
        "compensation", "bonus", "bonus pool", "remuneration", "pay grade", "pay band",
        "termination", "terminate", "dismissal", "dismiss", "layoff", "lay off", "laid off",
        "redundancy", "redundant", "severance", "headcount reduction", "restructuring",
        "reduction in force", "rif list", "disciplinary", "grievance", "performance review",
        "performance improvement plan", "pip", "sick leave", "medical leave", "maternity",
        "resignation", "exit interview", "offer letter", "employee relations", "hr case",
        "harassment", "misconduct", "background check",
    ),
    "mna": (
        "merger", "m&a", "mergers and acquisitions", "acquisition", "acquire", "takeover",
        "take over bid", "buyout", "buy out", "due diligence", "data room", "term sheet",
        "letter of intent", "loi", "valuation", "divestiture", "divestment", "spin off",
        "target company", "deal team", "tender offer", "merge",
    ),
    "legal": (
        "lawsuit", "litigation", "legal hold", "litigation hold", "subpoena",
        "settlement agreement", "whistleblower", "whistle blower", "internal investigation",
        "injunction", "privileged and confidential", "attorney client",
        "cease and desist", "court order", "affidavit",
    ),
    "credentials": (
        "password", "passwd", "passcode", "credentials", "login details", "api key",
        "secret key", "private key", "access token", "mfa code", "otp", "2fa", "vpn token",
        "recovery code", "ssh key",
    ),
    "finance": (
        "wire transfer", "bank details", "bank account", "account number", "iban",
        "swift code", "routing number", "payment details", "earnings release",
        "quarterly results", "profit warning", "revenue forecast", "insider trading",
        "insider information", "share price",
        "tax return", "credit card", "card number",
    ),
}  # fmt: skip
"""Built in; a rules file adds words to any category (or a category of its own)."""

_WORD = re.compile(r"[a-z0-9]+(?:&[a-z0-9]+)?")


def stem(word: str) -> str:
    """A crude stem: plural, -ing, -ed and a final e removed (salaries → salary, merging and
    merged → merg). Used on both sides, so it only has to be consistent, not English."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith(("sses", "ches", "shes", "xes")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def _stems(phrase: str) -> tuple[str, ...]:
    return tuple(stem(word) for word in _WORD.findall(phrase.lower()))


class Vocabulary:
    """Finds the sensitive phrases of each category in a search text."""

    def __init__(self, categories: Mapping[str, Iterable[str]]) -> None:
        # first stem -> [(stems, category)], longest phrase first
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for category, phrases in categories.items():
            for phrase in phrases:
                stems = _stems(phrase)
                if stems:
                    self._phrases.setdefault(stems[0], []).append((stems, category))
        for options in self._phrases.values():
            options.sort(key=lambda option: -len(option[0]))
        # A cheap first pass: most texts share no word root with any phrase.
        roots = sorted({first[:4] for first in self._phrases}, key=len, reverse=True)
        self._quick = (
            re.compile(r"\b(?:" + "|".join(re.escape(root) for root in roots) + ")")
            if roots
            else None
        )

    @property
    def empty(self) -> bool:
        return not self._phrases

    def find(self, text: str) -> dict[str, set[str]]:
        """{category: literal substrings, lower-case} of the sensitive phrases in `text`."""
        lowered = text.lower()
        if self._quick is None or not self._quick.search(lowered):
            return {}
        words = list(_WORD.finditer(lowered))
        stems = [stem(word.group()) for word in words]
        found: dict[str, set[str]] = {}
        index = 0
        while index < len(words):
            length = 0
            for phrase, category in self._phrases.get(stems[index], ()):
                if tuple(stems[index : index + len(phrase)]) == phrase:
                    length = len(phrase)
                    literal = lowered[words[index].start() : words[index + length - 1].end()]
                    found.setdefault(category, set()).add(literal)
                    break
            index += max(1, length)
        return found


def vocabulary_of(
    extra: Mapping[str, tuple[str, ...]], legacy_terms: tuple[str, ...] = ()
) -> dict[str, tuple[str, ...]]:
    """The defaults, each category extended by the rules file's words (a new category is
    added); `legacy_terms` (the old flat `terms` list) go to the category `other`."""
    merged = {category: tuple(words) for category, words in DEFAULT_VOCABULARY.items()}
    for category, words in extra.items():
        merged[category] = merged.get(category, ()) + tuple(words)
    if legacy_terms:
        merged["other"] = merged.get("other", ()) + legacy_terms
    return merged


@dataclass(frozen=True)
class CategoryFigures:
    """One user's searches in one category on one day, against their own history."""

    searches: int
    prior_days: int  # days with this category in the last `history_days`
    text_days: int  # days with any search text in the last `history_days`
    usual: float  # 90th percentile of their searches on those days (0 when none)
    days_at_least: int  # of those days, how many had at least today's searches
    new_term_searches: int  # searches with a phrase they had not searched in the window
    new_terms: tuple[str, ...]
    terms: tuple[str, ...]


class CategoryHistory:
    """Per user and category: on which days, how many searches, which phrases; fed day by
    day in order (by `features.TextHistory`)."""

    def __init__(self, history_days: int) -> None:
        self._history = history_days
        self._days: dict[tuple[str, str], dict[int, int]] = {}
        self._seen: dict[tuple[str, str], dict[str, int]] = {}
        self._text_days: dict[str, list[int]] = {}

    def feed(
        self, email: str, day: int, today: Mapping[str, list[frozenset[str]]]
    ) -> dict[str, CategoryFigures]:
        figures: dict[str, CategoryFigures] = {}
        oldest = day - self._history
        text_days = self._text_days.setdefault(email, [])
        while text_days and text_days[0] < oldest:
            text_days.pop(0)
        known = len(text_days)
        text_days.append(day)
        for category, searches in today.items():
            key = (email, category)
            days = self._days.setdefault(key, {})
            for stale in [d for d in days if d < oldest]:
                del days[stale]
            seen = self._seen.setdefault(key, {})
            terms = frozenset().union(*searches)
            new = {term for term in terms if seen.get(term, -(10**9)) < oldest}
            figures[category] = CategoryFigures(
                searches=len(searches),
                prior_days=len(days),
                text_days=known,
                usual=percentile(list(days.values()), 0.9) if days else 0.0,
                days_at_least=sum(1 for count in days.values() if count >= len(searches)),
                new_term_searches=sum(1 for found in searches if found & new),
                new_terms=tuple(sorted(new)),
                terms=tuple(sorted(terms)),
            )
            days[day] = len(searches)
            for term in terms:
                seen[term] = day
        return figures


def routine(figures: CategoryFigures, routine_days: int, routine_share: float) -> bool:
    """Whether a category is part of the user's routine: on `routine_days` days of the
    window, or on `routine_share` of their days so far (a new compliance officer's second
    week is routine already)."""
    return figures.prior_days >= routine_days or (
        figures.text_days >= 3 and figures.prior_days >= routine_share * figures.text_days
    )
