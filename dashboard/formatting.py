"""Small, exact renderings of times, ages, sizes and text for labels and messages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from db.target_parse import MAILBOX, parse_targets

# Every ASCII punctuation character may be backslash-escaped in CommonMark.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def escape_markdown(text: str) -> str:
    """`text` shown literally where Streamlit renders Markdown (labels, metrics, alerts).

    Search text and addresses come from outside: `**`, `[link](…)`, `:red[…]`, `$…$` or
    `<b>` must appear as typed, never as formatting. Line breaks become spaces.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _CONTROL.sub(" ", text))


def literal(text: str) -> str:
    """`text` as a Markdown code span: shown exactly, never formatted or auto-linked.

    For data (addresses, search types) in labels, headings and metrics. Escaping alone is
    not enough there: Streamlit still turns `kate.o'neil@example.com` into a link to
    `neil@example.com`. The fence is longer than any run of backticks inside.
    """
    flat = _CONTROL.sub(" ", text)
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


TABLE_TIME = "YYYY-MM-DD HH:mm:ss"
"""Every table's time column (moment.js, as Streamlit's column config takes it); the zone
is stated once per page, by the frame's "Times and days in …" line, not in every cell."""
TABLE_DAY = "YYYY-MM-DD"
PAGE_TIME = "%Y-%m-%d %H:%M:%S"
"""`TABLE_TIME` for text (strftime): a page shows every time one way, in its zone."""


def format_time(moment: datetime | None, tz: str) -> str:
    """`2026-03-30 01:30:00` in the display zone (which the page states once), or an em
    dash."""
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(tz)).strftime(PAGE_TIME)


def time_metric(moment: datetime | None, tz: str, now: datetime) -> tuple[str, str | None]:
    """A metric's value and delta for an instant: `18:36:05`, `2026-11-26 · 12 min ago`.

    `PAGE_TIME` split in two: the day goes in the delta so the value stays short enough not
    to be cut off; the zone is the page's, stated once.
    """
    if moment is None:
        return "never", None
    local = moment.astimezone(ZoneInfo(tz))
    age = now - moment
    when = "from now" if age < timedelta(0) else "ago"
    return local.strftime("%H:%M:%S"), f"{local:%Y-%m-%d} · {format_age(abs(age))} {when}"


def format_age(age: timedelta) -> str:
    """`45 s`, `12 min`, `3 h 5 min`, `1 h`, `2 d 4 h`."""
    total = max(int(age.total_seconds()), 0)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def format_bytes(size: int | None) -> str:
    if size is None:
        return "—"
    if size < 1024:
        return f"{size:,} bytes"
    value = size / 1024
    for unit in ("KB", "MB", "GB"):
        if value < 1024:
            return f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} TB"


def plural(count: int, word: str) -> str:
    """`1 search`, `2 searches`, `3 users`."""
    if count == 1:
        return f"{count:,} {word}"
    suffix = "es" if word.endswith(("s", "sh", "ch", "x")) else "s"
    return f"{count:,} {word}{suffix}"


def with_targets(searches: pd.DataFrame) -> pd.DataFrame:
    """A list of searches with the mailbox each targeted (`target`) after its text."""
    frame = searches.copy()
    at = list(frame.columns).index("search_text") + 1
    frame.insert(at, "target", [target_mailbox(text) for text in frame["search_text"]])
    return frame


def target_mailbox(text: object) -> str:
    """The mailboxes a search targeted (`[User : dhamilton@example.com]`, alone or after a
    hash), as the ingest's target parser reads them (joined by ", "), or "" for none."""
    if not isinstance(text, str):
        return ""
    return ", ".join(t.value for t in parse_targets(text) if t.kind == MAILBOX)
