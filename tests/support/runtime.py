"""Child processes that run the product: the runtime virtualenv's Python (never the dev
one's) and the environment they start with.

`scripts/test` builds `.venv-runtime` from `requirements.txt` alone and exports its Python
as RUNTIME_PYTHON. Every child process that runs a production path (`python -m ingest`,
`streamlit run streamlit_app.py`) starts with it, so a package the product needs but only
the dev set happens to install (httpx, once) fails a test instead of a user's sign-in.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
RUNTIME_VENV = PROJECT_ROOT / ".venv-runtime"
SETUP_HINT = "build it with `scripts/setup --runtime` (scripts/test does)"


class RuntimeMissing(RuntimeError):
    """No runtime virtualenv where one is required."""


def runtime_python(*, required: bool = False) -> str:
    """The runtime virtualenv's Python: RUNTIME_PYTHON, else `.venv-runtime/bin/python`.

    Missing, it is an error under CI (CI=true) or when `required`; elsewhere the tests fall
    back to the current interpreter with a warning.
    """
    configured = os.environ.get("RUNTIME_PYTHON")
    candidate = Path(configured) if configured else RUNTIME_VENV / "bin" / "python"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    problem = f"no runtime Python at {candidate}: {SETUP_HINT}"
    if required or os.environ.get("CI") == "true" or configured:
        raise RuntimeMissing(problem)
    warnings.warn(f"{problem}; running the product with {sys.executable}", stacklevel=2)
    return sys.executable


# Settings a developer's shell or .env may carry that would change what a child does.
INHERITED_SETTINGS = ("MIMECAST_", "DB_", "DATABASE_", "FORWARD_", "LOG_LEVEL", "LOG_FORMAT")


def subprocess_env(settings_env: dict[str, str]) -> dict[str, str]:
    """A child environment with only our settings (no stray .env, no inherited values).

    No PYTHONPATH: `scripts/setup` installs the project into both virtualenvs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_SETTINGS)}
    # Empty, not absent: an access list in a developer's .env would close the dashboard.
    env.update(ADMIN_EMAILS="", VIEWER_EMAILS="")
    env.update(settings_env)
    return env
