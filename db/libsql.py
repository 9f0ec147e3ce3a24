"""libSQL (`sqlite+libsql://`), the SQLite fork: what its SQLAlchemy dialect leaves to us.

libSQL speaks SQLite's SQL and its dialect *is* SQLite's (`dialect.name == "sqlite"`), so
every SQLite path of the product serves it unchanged. What differs is the connection:
sqlalchemy-libsql 0.2.0 drops the query string of a file URL and pastes it, auth token
included, into the server URL it hands the driver; the driver (libsql-experimental) takes
the token and an embedded replica's sync URL as arguments instead, and has no `timeout`
argument (the busy timeout is set by PRAGMA, as for SQLite, and waited out by
`db.libsql_wait`: the driver holds the GIL while SQLite waits). A server
(`sqlite+libsql://host`) and an embedded replica (`?sync_url=`) are documented in
docs/storage.md but not tested here: no libSQL server can be installed on this machine
(`TEST_LIBSQL_URL` runs them).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.exc import DatabaseError, DBAPIError, IntegrityError, OperationalError

from db.libsql_wait import BusyWaitingConnection

DRIVERS = ("libsql", "aiolibsql")
# What a libSQL URL may carry: the server's token and scheme, an embedded replica's source.
QUERY_PARAMETERS = ("authToken", "secure", "sync_url", "sync_interval")
FORM = (
    "use sqlite+libsql:////absolute/path.db (four slashes) for a file, or "
    "sqlite+libsql://host?secure=true&authToken=… for a server"
)
_TRUE = ("1", "true", "yes", "on")


class LibsqlUrlError(ValueError):
    """A libSQL URL the product cannot use; the message is one line, without the URL."""


def is_libsql(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.get_driver_name() in DRIVERS


def is_remote(url: URL) -> bool:
    """A libSQL server: nothing on this machine's disk (no file, WAL or lock to manage)."""
    return is_libsql(url) and bool(url.host)


def _value(url: URL, name: str) -> str:
    value = url.query.get(name, "")
    return value if isinstance(value, str) else value[-1]


def check_url(url: URL) -> None:
    """Refuse, in one line, a libSQL URL that would open the wrong thing or nothing."""
    if url.get_driver_name() == "aiolibsql":
        raise LibsqlUrlError(f"DATABASE_URL uses the async driver sqlite+aiolibsql: {FORM}")
    unknown = sorted(set(url.query) - set(QUERY_PARAMETERS))
    if unknown:
        raise LibsqlUrlError(
            f"DATABASE_URL has libSQL parameter(s) {', '.join(unknown)} that are not "
            f"supported (only {', '.join(QUERY_PARAMETERS)}): {FORM}"
        )
    if not url.host and url.database in (None, "", ":memory:"):
        raise LibsqlUrlError(f"DATABASE_URL names no libSQL file or server: {FORM}")
    if url.host and _value(url, "sync_url"):
        raise LibsqlUrlError(
            "DATABASE_URL has both a libSQL server host and sync_url: an embedded replica is "
            "sqlite+libsql:////path/replica.db?sync_url=libsql://host"
        )
    try:
        importlib.import_module("libsql_experimental")  # the driver the dialect loads
    except ImportError:
        raise LibsqlUrlError(
            "DATABASE_URL is a libSQL URL, but libSQL's driver (libsql-experimental) is not "
            "installed: it has wheels only for x86_64 Linux and macOS; use sqlite:/// here"
        ) from None


def connect_target(url: URL) -> str:
    """What the driver opens: a server's http(s) URL without its query, or the file."""
    if not url.host:
        return str(url.database)
    scheme = "https" if _value(url, "secure").lower() in _TRUE else "http"
    port = f":{url.port}" if url.port else ""
    path = f"/{url.database}" if url.database else ""
    return f"{scheme}://{url.host}{port}{path}"


def connect_arguments(url: URL) -> dict[str, Any]:
    """The driver's keyword arguments that the URL's query stands for."""
    arguments: dict[str, Any] = {}
    if token := _value(url, "authToken"):
        arguments["auth_token"] = token
    if sync_url := _value(url, "sync_url"):
        arguments["sync_url"] = sync_url
    if interval := _value(url, "sync_interval"):
        try:
            arguments["sync_interval"] = float(interval)
        except ValueError:
            message = (
                "DATABASE_URL's sync_interval must be a number of seconds: "
                "sqlite+libsql:////path/replica.db?sync_url=libsql://host&sync_interval=60"
            )
            raise LibsqlUrlError(message) from None
    return arguments


# libsql-experimental 0.0.55 raises a bare ValueError for every SQLite error, outside the
# DB-API's Error classes, so SQLAlchemy would not wrap it and `except OperationalError` (a
# locked or read-only file), `except IntegrityError` and `except SQLAlchemyError` (an audit
# row refused: nothing happens) would all miss it. Classified by SQLite's own message.
_INTEGRITY = ("constraint failed",)
_OPERATIONAL = (
    "locked",
    "busy",
    "readonly",
    "disk",
    "unable to open",
    "no such",
    "not a database",
    "malformed",
    "full",
    "interrupted",
)


def connect_hook(url: URL) -> Callable[..., Any]:
    """A `do_connect` hook: the driver gets the token and sync URL as arguments, a server's
    URL without the token in its query string, and a failure to open (a ValueError too) is
    raised as the DBAPIError it stands for: SQLAlchemy wraps only the driver's own Error
    class here, and then calls pysqlite's `is_disconnect`, which this driver breaks. A file's
    connection waits out a locked database without holding the GIL (`db.libsql_wait`)."""
    arguments = connect_arguments(url)

    def connect(dialect: Any, _record: Any, cargs: list, cparams: dict) -> Any:
        if is_remote(url):
            cargs[0] = connect_target(url)
        cparams.update(arguments)
        try:
            connection = dialect.loaded_dbapi.connect(*cargs, **cparams)
            connection.execute("SELECT 1")  # a server is reached only by a first statement
            return connection if is_remote(url) else BusyWaitingConnection(connection)
        except ValueError as exc:
            raise _classified(str(exc))(None, None, exc) from None

    return connect


def translate_error(context: ExceptionContext) -> BaseException | None:
    """A `handle_error` hook: libSQL's ValueError as the DBAPIError sqlite3's would become."""
    error = context.original_exception
    if context.sqlalchemy_exception is not None or type(error) is not ValueError:
        return None
    return _classified(str(error))(context.statement, context.parameters, error)


def _classified(message: str) -> type[DBAPIError]:
    lowered = message.lower()
    if any(part in lowered for part in _INTEGRITY):
        return IntegrityError
    if any(part in lowered for part in _OPERATIONAL):
        return OperationalError
    return DatabaseError
