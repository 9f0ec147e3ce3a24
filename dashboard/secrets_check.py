"""Whether Streamlit can read the secrets files it is configured with, checked before the
server is built.

Streamlit 1.67 reads the secrets while it builds its server, on the first request: a file
that exists but cannot be read (permissions, not UTF-8) raises there, and every request
then fails with a traceback while the process keeps running. A file that reads but is not
valid TOML is survivable: the dashboard then shows the problem at every address
(`dashboard.notices.sign_in_setup`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SIGN_IN_DOCS = "docs/sign-in.md"


def _toml_files(path: Path) -> list[Path]:
    """The files Streamlit would read for one `secrets.files` entry (a file or a folder)."""
    if path.suffix == ".toml":
        return [path] if path.exists() else []
    if path.is_dir():
        return sorted(path.rglob("*.toml"))
    return []


def unreadable_secrets(paths: Iterable[str | Path]) -> str | None:
    """One line saying which secrets file cannot be read and what to do, or None.

    Never quotes the file's content: it holds secrets."""
    for entry in paths:
        for path in _toml_files(Path(entry)):
            try:
                path.read_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                reason = f"it is not UTF-8 text ({exc.reason} at byte {exc.start})"
            except OSError as exc:
                reason = f"{exc.strerror or type(exc).__name__}"
            else:
                continue
            return (
                f"Cannot read the secrets file {path}: {reason}. Make it a UTF-8 TOML file "
                f"readable by the dashboard's user (see {SIGN_IN_DOCS}), or remove it to run "
                "without sign-in, then start the dashboard again."
            )
    return None
