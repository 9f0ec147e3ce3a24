"""How the ingest and the dashboard write their own log lines: text for people, or with
`LOG_FORMAT=json` one JSON object per line for Kubernetes and SIEM collectors.

Each JSON line carries `time` (RFC 3339, UTC), `level`, `logger`, `message`, and `tenant` and
`run_id` where the line belongs to one: set for a stretch of work with `log_context`, which
the ingest does around each tenant's poll and each recorded run. Messages are the same text
the text format shows, so what is kept out of one (secrets, tokens) is kept out of the other.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from config.parsers import ConfigError

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
CONTEXT_FIELDS = ("tenant", "run_id")
_context: ContextVar[Mapping[str, Any]] = ContextVar("log_context", default={})  # noqa: B039


def parse_log_format(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value not in LOG_FORMATS:
        raise ConfigError(f"{name} must be text or json, got {len(raw)} characters of other text")
    return value


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Lines logged inside (in this thread or task) carry `fields` (tenant, run_id)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in a message are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        known = _context.get()
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None) or known.get(key)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT, datefmt="%Y-%m-%d %H:%M:%S")


def configure(
    log_format: str,
    level: int | str,
    loggers: tuple[str, ...] = ("",),
    stream: IO[str] | None = None,
) -> None:
    """One stderr handler in `log_format` on each of `loggers` ("" is the root), replacing
    the handler an earlier call put there (a server re-imports its app on reload). As
    `logging.basicConfig`, a logger someone else gave handlers (a test runner) is left as
    it is."""
    for name in loggers:
        target = logging.getLogger(name)
        if any(not getattr(h, "_searchlogs", False) for h in target.handlers):
            continue
        for handler in [h for h in target.handlers if getattr(h, "_searchlogs", False)]:
            target.removeHandler(handler)
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(formatter(log_format))
        handler._searchlogs = True  # type: ignore[attr-defined]
        target.addHandler(handler)
        target.setLevel(level)
        if name:
            target.propagate = False  # its lines once, not again through the root


def chosen_format(env: Mapping[str, str]) -> str:
    """LOG_FORMAT read before the other settings (so that their refusal is formatted too);
    an invalid value means text here, and is refused with the other settings."""
    value = (env.get("LOG_FORMAT") or "").strip().lower()
    return value if value in LOG_FORMATS else "text"


def chosen_level(env: Mapping[str, str]) -> str:
    value = (env.get("LOG_LEVEL") or "").strip().upper()
    return value if value in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO"


def writes_json() -> bool:
    """Whether the root logger writes JSON: then even a refusal is a JSON line."""
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)
