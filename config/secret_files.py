"""The `_FILE` convention: a secret setting `NAME` may instead be read from the file that
`NAME_FILE` names, as Docker secrets and Kubernetes Secret volumes deliver it.

One helper for every secret, so the rules are the same everywhere: the file's content with
its trailing newline stripped is the value; `NAME` and `NAME_FILE` both set is refused (the
operator could not tell which one is used); a file that cannot be read, or is empty, is a
`ConfigError` (fail closed). Messages name the variable, never the path or the content: a
secret pasted into `NAME_FILE` by mistake must not come back in an error line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from config.parsers import ConfigError

SUFFIX = "_FILE"


def file_variable(name: str) -> str:
    """The variable naming the file that holds `name`'s value."""
    return name + SUFFIX


def secret_value(env: Mapping[str, str], name: str) -> str | None:
    """`name`'s value from `env`, or from the file `name_FILE` names; None when neither is
    set (blank counts as unset, as for every setting)."""
    direct = (env.get(name) or "").strip()
    where = (env.get(file_variable(name)) or "").strip()
    if direct and where:
        raise ConfigError(
            f"{name} and {file_variable(name)} are both set: keep one (the file for a secret)"
        )
    if not where:
        return direct or None
    return read_secret_file(file_variable(name), where)


def read_secret_file(variable: str, where: str) -> str:
    """The content of the file `variable` names, without its trailing newline."""
    try:
        value = Path(where).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"{variable} names a file that cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{variable} names a file that is not UTF-8 text") from None
    if not value.strip():
        raise ConfigError(f"{variable} names an empty file: put the secret in it")
    return value


def with_secret_files(env: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """`env` with each of `names` read through `secret_value` (files resolved, conflicts and
    unreadable files refused)."""
    resolved = dict(env)
    for name in names:
        value = secret_value(env, name)
        resolved[name] = value or ""
    return resolved
