"""The rules file (`DETECTIONS_FILE`, TOML): rules, thresholds, term lists, office hours and
allow-lists, with built-in defaults for everything it leaves out.

Why strict: a typo in a threshold's name would otherwise silently keep the default, so
unknown keys and wrong types are errors, reported in one line that names the key.
"""

from __future__ import annotations

import fnmatch
import logging
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

log = logging.getLogger("ingest.detect")

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class DetectionConfigError(Exception):
    """The rules file cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class VolumeSpike:
    """A day far above the user's own usual (same kind of day), beyond the tenant's mood."""

    enabled: bool = True
    min_searches: int = 30
    min_ratio: float = 4.0
    min_robust_z: float = 3.5
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeerOutlier:
    """A user with little history of their own, far above what people search in a day."""

    enabled: bool = True
    min_searches: int = 40
    peer_quantile: float = 0.95
    min_ratio: float = 2.5
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnusualTime:
    """Searches at hours, or on a weekday, that are improbable for this person: the chance
    is their own history's, shrunk toward their peers' by `prior_days` pseudo-days (so a
    thin history borrows from the peers), floored at `peer_floor`. Hours fire at
    `min_surprise` (-log10 of the chance of a day with searches in those hours) with at
    least `min_searches` searches there; a day fires at `day_min_surprise` (the weekday's
    chance over the last `season_weeks` same weekdays, plus how unusual its volume is)."""

    enabled: bool = True
    min_searches: int = 3
    min_surprise: float = 2.0
    day_min_surprise: float = 3.0
    prior_days: float = 5.0
    peer_floor: float = 0.002
    rare_share: float = 0.01
    prior_weight: float = 20.0
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class DormantSearcher:
    """An address silent for `dormant_days` (or never seen) that suddenly searches a lot."""

    enabled: bool = True
    min_searches: int = 20
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class Breadth:
    """Many mailboxes targeted in a day that this searcher had not targeted before."""

    enabled: bool = True
    min_new_targets: int = 12
    min_ratio: float = 3.0
    target_fields: tuple[str, ...] = ("User", "Mailbox", "Recipient")
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class SensitiveTerms:
    """Searches for sensitive words, by category (`ingest.detect.vocabulary`): a category new
    to the user (not on `routine_days` of the last `history_days`, nor on `routine_share` of
    their days with searches in them) fires at `min_searches`
    searches with words new to them; a routine one only at `routine_ratio` × their usual
    day in that category. A category the user searched on a few of the last
    `history_days` is not new: the new-words verdict also needs `min_surprise` (-log10 of the
    smoothed chance of a day in that category, the bar `unusual_time` uses; 2.0 is met only
    by a category absent from those days). `vocabulary` extends (or adds) categories; `terms`
    is the old flat list, kept as the category `other`."""

    enabled: bool = True
    terms: tuple[str, ...] = ()
    vocabulary: dict[str, tuple[str, ...]] = field(default_factory=dict)
    min_searches: int = 2
    routine_days: int = 10
    routine_ratio: float = 4.0
    routine_share: float = 0.2
    min_surprise: float = 2.0
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccumulatedRisk:
    """Risk summed across days with a half-life: each day's findings and small signals (a
    few new mailboxes, a sensitive search outside the user's routine); alerts once per
    episode when the sum reaches `threshold` over at least `min_days` days."""

    enabled: bool = True
    threshold: float = 3.0
    half_life_days: float = 7.0
    window_days: int = 28
    min_days: int = 3
    finding_points: float = 1.0
    new_target_points: float = 1.0
    sensitive_points: float = 0.5
    first_term_points: float = 1.0
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class MissingReason:
    """Searches without a reason, or with a boilerplate one, where reasons are enforced."""

    enabled: bool = False
    min_searches: int = 5
    min_share: float = 0.8
    min_length: int = 4
    boilerplate: tuple[str, ...] = ("n/a", "na", "none", "test", "x", "-", ".", "reason", "search")
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class SystemVolume:
    """System and API senders: only a day far above their own usual volume."""

    enabled: bool = True
    min_searches: int = 500
    min_ratio: float = 5.0
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    volume_spike: VolumeSpike = field(default_factory=VolumeSpike)
    peer_outlier: PeerOutlier = field(default_factory=PeerOutlier)
    unusual_time: UnusualTime = field(default_factory=UnusualTime)
    dormant_searcher: DormantSearcher = field(default_factory=DormantSearcher)
    breadth: Breadth = field(default_factory=Breadth)
    sensitive_terms: SensitiveTerms = field(default_factory=SensitiveTerms)
    missing_reason: MissingReason = field(default_factory=MissingReason)
    system_volume: SystemVolume = field(default_factory=SystemVolume)
    accumulated_risk: AccumulatedRisk = field(default_factory=AccumulatedRisk)


@dataclass(frozen=True)
class General:
    """What every rule shares: history lengths, office hours, who is a system sender."""

    warmup_days: int = 14
    baseline_days: int = 28
    history_days: int = 60
    min_history_days: int = 10
    dormant_days: int = 28
    office_start: int = 8
    office_end: int = 18
    office_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    system_senders: tuple[str, ...] = ("<>", "api-*")
    allow: tuple[str, ...] = ()
    season_weeks: int = 8
    peers_file: str = ""
    min_group_size: int = 5


@dataclass(frozen=True)
class Feedback:
    """What an analyst's triage may do to later detections: a dismissal as expected quiets
    the same person and rule for at most `max_suppress_days` after the alert's day."""

    max_suppress_days: int = 30


@dataclass(frozen=True)
class DetectionConfig:
    general: General = field(default_factory=General)
    rules: Rules = field(default_factory=Rules)
    feedback: Feedback = field(default_factory=Feedback)
    peer_map: tuple[tuple[str, str], ...] = ()  # (address, group) from general.peers_file

    def is_system(self, email: str) -> bool:
        return matches(email, self.general.system_senders)

    def allowed(self, email: str, rule_allow: tuple[str, ...]) -> bool:
        return matches(email, self.general.allow) or matches(email, rule_allow)

    def office_slot(self, weekday: int, hour: int) -> bool:
        """Whether a local weekday (0 = Monday) and hour fall in office hours."""
        general = self.general
        return WEEKDAY_NAMES[weekday] in general.office_days and (
            general.office_start <= hour < general.office_end
        )


def matches(email: str, patterns: tuple[str, ...]) -> bool:
    """Case-insensitive address match against exact addresses and `*` globs."""
    lowered = email.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in patterns)


def _convert(where: str, kind: Any, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise DetectionConfigError(f"{where} must be true or false, got {value!r}")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        raise DetectionConfigError(f"{where} must be a whole number, 0 or more, got {value!r}")
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
        raise DetectionConfigError(f"{where} must be a number, 0 or more, got {value!r}")
    if kind is str:
        if isinstance(value, str):
            return value
        raise DetectionConfigError(f"{where} must be a string, got {value!r}")
    if kind == dict[str, tuple[str, ...]]:
        if isinstance(value, dict) and all(
            _is_word_list(words) and category for category, words in value.items()
        ):
            return {category.lower(): tuple(words) for category, words in value.items()}
        raise DetectionConfigError(
            f"{where} must be a table of category = [list of non-empty strings], got {value!r}"
        )
    # tuple[str, ...]
    if _is_word_list(value):
        return tuple(value)
    raise DetectionConfigError(f"{where} must be a list of non-empty strings, got {value!r}")


def _is_word_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


def _section(where: str, cls: type, table: Any) -> Any:
    if not isinstance(table, dict):
        raise DetectionConfigError(f"{where} must be a table ([{where}])")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise DetectionConfigError(
            f"{where}.{unknown[0]} is not a known key (known: {', '.join(sorted(known))})"
        )
    values = {
        name: _convert(f"{where}.{name}", hints[name], value) for name, value in table.items()
    }
    return replace(cls(), **values)


def _checked(config: DetectionConfig) -> DetectionConfig:
    general = config.general
    if not 0 <= general.office_start < general.office_end <= 24:
        raise DetectionConfigError(
            "general.office_start and office_end must be hours with 0 <= start < end <= 24"
        )
    bad_days = [day for day in general.office_days if day.lower() not in WEEKDAY_NAMES]
    if bad_days:
        raise DetectionConfigError(
            f"general.office_days must name days as {', '.join(WEEKDAY_NAMES)}, got {bad_days[0]!r}"
        )
    if general.min_history_days < 1 or general.baseline_days < general.min_history_days:
        raise DetectionConfigError(
            "general.min_history_days must be at least 1 and at most general.baseline_days"
        )
    if general.season_weeks < 1 or general.min_group_size < 1:
        raise DetectionConfigError("general.season_weeks and min_group_size must be at least 1")
    if general.warmup_days < 1:
        raise DetectionConfigError("general.warmup_days must be at least 1")
    risk = config.rules.accumulated_risk
    if risk.half_life_days <= 0 or risk.window_days < 1 or risk.threshold <= 0:
        raise DetectionConfigError(
            "rules.accumulated_risk.half_life_days, window_days and threshold must be above 0"
        )
    if not 0 < config.rules.peer_outlier.peer_quantile < 1:
        raise DetectionConfigError("rules.peer_outlier.peer_quantile must be between 0 and 1")
    return replace(
        config,
        general=replace(general, office_days=tuple(day.lower() for day in general.office_days)),
    )


def _without_retired(general: Any) -> Any:
    """`[general]` without `account`: before tenants (issue 16) it named the one account;
    alerts now carry their tenant, so a rules file that still sets it loads, with a note."""
    if not isinstance(general, dict) or "account" not in general:
        return general
    log.warning("DETECTIONS_FILE: general.account is no longer used (alerts carry their tenant)")
    return {key: value for key, value in general.items() if key != "account"}


RETIRED = {"unusual_time": ("min_ratio", "rare_day_share", "day_ratio")}
"""Keys of rules that now score surprise (issue 17): a file that still sets them loads."""


def _without_retired_keys(name: str, table: Any) -> Any:
    retired = [key for key in RETIRED.get(name, ()) if isinstance(table, dict) and key in table]
    if not retired:
        return table
    log.warning("DETECTIONS_FILE: rules.%s.%s is no longer used", name, retired[0])
    return {key: value for key, value in table.items() if key not in retired}


def parse_config(document: dict[str, Any]) -> DetectionConfig:
    """A DetectionConfig from a parsed TOML document, defaults for what it leaves out."""
    unknown = sorted(set(document) - {"general", "rules", "feedback"})
    if unknown:
        raise DetectionConfigError(
            f"[{unknown[0]}] is not a known section (known: general, rules, feedback)"
        )
    general = _section("general", General, _without_retired(document.get("general", {})))
    feedback = _section("feedback", Feedback, document.get("feedback", {}))
    if not 0 <= feedback.max_suppress_days <= 365:
        raise DetectionConfigError("feedback.max_suppress_days must be 0 to 365")
    rules_table = document.get("rules", {})
    if not isinstance(rules_table, dict):
        raise DetectionConfigError("rules must be a table of [rules.<name>] sections")
    rule_types = get_type_hints(Rules)
    unknown = sorted(set(rules_table) - set(rule_types))
    if unknown:
        raise DetectionConfigError(
            f"[rules.{unknown[0]}] is not a known rule (known: {', '.join(rule_types)})"
        )
    rules = Rules(
        **{
            name: _section(f"rules.{name}", rule_types[name], _without_retired_keys(name, table))
            for name, table in rules_table.items()
        }
    )
    return _checked(DetectionConfig(general=general, rules=rules, feedback=feedback))


def load_config(path: Path, *, required: bool) -> DetectionConfig:
    """The rules file at `path`; the built-in defaults when it does not exist and is not
    `required` (the setting was left at its default)."""
    if not path.exists():
        if required:
            raise DetectionConfigError(
                f"DETECTIONS_FILE {path} does not exist: create it or unset DETECTIONS_FILE"
            )
        return DetectionConfig()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DetectionConfigError(f"DETECTIONS_FILE {path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DetectionConfigError(f"DETECTIONS_FILE {path} cannot be read: {exc}") from None
    try:
        config = parse_config(document)
    except DetectionConfigError as exc:
        raise DetectionConfigError(f"DETECTIONS_FILE {path}: {exc}") from None
    if not config.general.peers_file:
        return config
    from ingest.detect.peers import read_peer_file  # peers needs this module

    peers = path.parent / Path(config.general.peers_file).expanduser()
    try:
        return replace(config, peer_map=read_peer_file(peers))
    except DetectionConfigError as exc:
        raise DetectionConfigError(f"DETECTIONS_FILE {path}: {exc}") from None
