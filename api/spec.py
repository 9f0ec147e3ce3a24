"""Endpoints declared as data: each parameter's name, type, limits and description.

Both the validation of a call and `/api/v1/openapi.json` are derived from these
declarations, so the published contract cannot drift from what the server accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, Literal
from zoneinfo import available_timezones

from api.problems import ApiProblem
from db.audit import AuditAction

Kind = Literal["date", "string", "integer", "timezone", "enum", "boolean"]
Access = Literal["viewer", "admin", "health"]

JSON = "application/json"
CSV = "text/csv"
NDJSON = "application/x-ndjson"
PROMETHEUS = "text/plain; version=0.0.4"

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)
"""The days a call may name: far beyond any archive, well inside what the database, the
time zones and pandas can compute with (a day at the edge of `date` overflowed: 500)."""
MAX_TEXT = 10_000
"""The longest text value (a 6,000-character address is stored, so allow more)."""
MAX_VALUES = 100
"""The most values a repeatable parameter takes."""
_WHOLE = re.compile(r"-?[0-9]{1,19}")


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    description: str
    repeatable: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    default: Any = None
    where: Literal["query", "path", "body"] = "query"
    required: bool = False

    def schema(self) -> dict[str, Any]:
        kinds: dict[str, dict[str, Any]] = {
            "date": {
                "type": "string",
                "format": "date",
                "description": f"a day from {FIRST_DAY} to {LAST_DAY}",
            },
            "string": {"type": "string", "maxLength": MAX_TEXT},
            "integer": {"type": "integer"},
            "timezone": {"type": "string", "description": "an IANA time zone"},
            "enum": {"type": "string", "enum": list(self.choices)},
            "boolean": {"type": "boolean"},
        }
        item = kinds[self.kind].copy()
        if self.minimum is not None:
            item["minimum"] = self.minimum
        if self.maximum is not None:
            item["maximum"] = self.maximum
        if self.default is not None:
            item["default"] = self.default
        if self.repeatable:
            return {"type": "array", "items": item, "maxItems": MAX_VALUES}
        return item


@dataclass(frozen=True)
class Endpoint:
    """One route: what it takes, what it answers, who may call it, how it is audited."""

    method: str
    path: str
    operation_id: str
    summary: str
    access: Access
    handler: Callable[..., Any]
    params: tuple[Param, ...] = ()
    formats: tuple[str, ...] = (JSON,)
    action: AuditAction | None = None
    """The audit action (None: not audited, the health endpoints)."""
    responses: dict[int, str] = field(default_factory=dict)


def _text(param: Param, raw: str) -> str:
    """`raw` if the database can store and compare it: no NUL, no lone surrogate, bounded."""
    if len(raw) > MAX_TEXT:
        raise ApiProblem(
            400, f"bad {param.name}: at most {MAX_TEXT:,} characters, got {len(raw):,}"
        )
    try:
        raw.encode("utf-8")
        storable = "\x00" not in raw
    except UnicodeEncodeError:  # a lone surrogate
        storable = False
    if not storable:
        raise ApiProblem(400, f"bad {param.name}: it holds a NUL or an invalid character")
    return raw


def _date(param: Param, raw: str) -> date:
    try:
        if len(raw) != 10 or not raw.isascii():
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        raise ApiProblem(
            400, f"bad date: {param.name} must be a date as YYYY-MM-DD, got {raw[:40]!r}"
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ApiProblem(
            400, f"bad date: {param.name} must be between {FIRST_DAY} and {LAST_DAY}, got {day}"
        )
    return day


def _integer(param: Param, raw: str) -> int:
    if not _WHOLE.fullmatch(raw):
        raise ApiProblem(400, f"bad {param.name}: it must be a whole number, got {raw[:40]!r}")
    value = int(raw)
    if param.maximum is not None and value > param.maximum:
        what = "page size too large" if param.name == "limit" else f"{param.name} too large"
        raise ApiProblem(
            400, f"{what}: {param.name} must be at most {param.maximum:,}, got {value:,}"
        )
    if param.minimum is not None and value < param.minimum:
        raise ApiProblem(400, f"bad {param.name}: it must be at least {param.minimum}, got {value}")
    return value


def _one(param: Param, raw: Any) -> Any:
    if param.kind == "boolean":
        if not isinstance(raw, bool):
            raise ApiProblem(400, f"bad {param.name}: it must be true or false")
        return raw
    if not isinstance(raw, str):
        raise ApiProblem(400, f"bad {param.name}: it must be a string")
    if param.kind == "date":
        return _date(param, raw)
    if param.kind == "integer":
        return _integer(param, raw)
    if param.kind == "timezone":
        if raw not in _zones():
            raise ApiProblem(
                400,
                f"unknown time zone {raw[:60]!r}: use an IANA name such as Europe/London",
            )
        return raw
    if param.kind == "enum":
        if raw not in param.choices:
            raise ApiProblem(
                400,
                f"bad {param.name}: it must be one of {', '.join(param.choices)}, got {raw[:40]!r}",
            )
        return raw
    return _text(param, raw)


def parse_params(
    params: Sequence[Param],
    query: Sequence[tuple[str, str]],
    path: dict[str, str],
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The call's values by name, defaults filled in; a 400 problem for anything wrong."""
    known = {p.name: p for p in params if p.where == "query"}
    given: dict[str, list[str]] = {}
    for name, value in query:
        if name not in known:
            offered = ", ".join(known) or "none"
            raise ApiProblem(400, f"unknown parameter {name[:40]!r}: this endpoint takes {offered}")
        given.setdefault(name, []).append(value)
    body = body or {}
    body_names = {p.name for p in params if p.where == "body"}
    for name in body:
        if name not in body_names:
            raise ApiProblem(
                400,
                f"unknown field {str(name)[:40]!r} in the body: this endpoint takes "
                f"{', '.join(sorted(body_names)) or 'no body'}",
            )
    values: dict[str, Any] = {}
    for param in params:
        if param.where == "path":
            values[param.name] = _one(param, path[param.name])
            continue
        if param.where == "body":
            if param.name not in body:
                if param.required:
                    raise ApiProblem(400, f"missing field {param.name!r}: {param.description}")
                values[param.name] = param.default
            else:
                values[param.name] = _one(param, body[param.name])
            continue
        raws = given.get(param.name, [])
        if len(raws) > 1 and not param.repeatable:
            raise ApiProblem(
                400, f"parameter {param.name!r} was given {len(raws)} times; give it once"
            )
        if len(raws) > MAX_VALUES:
            raise ApiProblem(
                400, f"parameter {param.name!r} was given {len(raws):,} times; at most {MAX_VALUES}"
            )
        if param.repeatable:
            values[param.name] = tuple(_one(param, raw) for raw in raws if raw != "")
        elif raws and raws[0] != "":
            values[param.name] = _one(param, raws[0])
        elif param.required:
            raise ApiProblem(400, f"missing parameter {param.name!r}: {param.description}")
        else:
            values[param.name] = param.default
    return values
