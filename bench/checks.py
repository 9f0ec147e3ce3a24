"""What every benchmark does before it prints a figure: check the answer it timed.

A benchmark that times refusals prints nonsense with exit status 0 (issue 21: every API
call answered 503 to an out-of-range setting, and the table showed the time to refuse).
So the settings a benchmark hands the product are parsed by the product's own parser
first, and the first wrong answer stops the run with one line saying what was wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from dotenv import dotenv_values

from config.settings import ConfigError, Settings, load_settings
from tests.support.runtime import PROJECT_ROOT, subprocess_env


class BenchmarkFailed(SystemExit):
    """A wrong answer, setting or server: exits non-zero with the reason on one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"benchmark failed: {reason}")


def fail(reason: str) -> NoReturn:
    raise BenchmarkFailed(" ".join(reason.split()))


def product_settings(settings_env: Mapping[str, str]) -> Settings:
    """The settings the product will read from `settings_env` (over the project's `.env`,
    as the child started in the project root sees it), parsed by the product's parser: an
    out-of-range value fails here, with the product's own message, before any server."""
    env = {k: v for k, v in dotenv_values(PROJECT_ROOT / ".env").items() if v is not None}
    env.update(subprocess_env(dict(settings_env)))
    try:
        return load_settings(env)
    except ConfigError as exc:
        fail(f"the product refuses the benchmark's settings: {exc}")


def expect(condition: bool, what: str, reason: str) -> None:
    """Stop the run unless `condition` holds; `what` names the answer, `reason` the fault."""
    if not condition:
        fail(f"{what}: {reason}")
