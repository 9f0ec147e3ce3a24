"""What every call needs: the settings and one engine per process, opened on first use.

Opening lazily keeps a broken setting or an unreachable database from stopping the
dashboard's server: the API answers 503 with the reason instead, and tries again on the
next call.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from api.problems import ApiProblem
from api.ratelimit import REFUSALS_PER_MINUTE, RateLimiter
from api.repeats import Flusher, Repeats
from config.settings import (
    CONFIG_ERROR_PUBLIC,
    ConfigError,
    Settings,
    load_settings,
    log_config_error,
)
from config.tenants import load_tenants
from db import audit
from db.engine import DatabaseSetupError, open_database
from db.store import SearchStore, SqlStore
from db.stores import Stores, on_clickhouse, shared_stores

log = logging.getLogger("api")


class ApiContext:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings: Settings | None = None
        self._tenants: tuple[str, ...] | None = None
        self._engine: Engine | None = None
        self._limiter: RateLimiter | None = None
        self._refusals = RateLimiter(REFUSALS_PER_MINUTE)
        self._repeats: Repeats | None = None
        self._flusher: Flusher | None = None

    def settings(self) -> Settings:
        with self._lock:
            if self._settings is None:
                try:
                    self._settings = load_settings()
                except ConfigError as exc:
                    # Said before any token is checked (to /healthz too): the caller
                    # learns only that a setting is wrong, the log which and why.
                    log_config_error(log, exc)
                    raise ApiProblem(503, CONFIG_ERROR_PUBLIC) from None
            return self._settings

    def tenants(self) -> tuple[str, ...]:
        """The configured tenants' names, in the tenants file's order (`default` without
        one); a bad tenants file is answered like a bad setting (503, the log says why)."""
        settings = self.settings()
        with self._lock:
            if self._tenants is None:
                try:
                    self._tenants = tuple(tenant.name for tenant in load_tenants(settings))
                except ConfigError as exc:
                    log_config_error(log, exc)
                    raise ApiProblem(503, CONFIG_ERROR_PUBLIC) from None
            return self._tenants

    def engine(self) -> Engine:
        """The SQL database: on ClickHouse the control database (tokens, audit, alerts)."""
        settings = self.settings()
        if on_clickhouse(settings):
            return self._stores(settings).control
        with self._lock:
            if self._engine is None:
                try:
                    self._engine = open_database(settings.effective_database_url)
                except DatabaseSetupError as exc:
                    raise ApiProblem(503, f"the database cannot be opened: {exc}") from None
            return self._engine

    def store(self) -> SearchStore:
        """The searches' reads: the `ClickHouseStore` the dashboard shares, else SQL."""
        settings = self.settings()
        if on_clickhouse(settings):
            return self._stores(settings).search
        return SqlStore(self.engine())

    def _stores(self, settings: Settings) -> Stores:
        try:
            return shared_stores(settings)
        except DatabaseSetupError as exc:
            raise ApiProblem(503, f"the database cannot be opened: {exc}") from None

    def limiter(self) -> RateLimiter:
        settings = self.settings()
        with self._lock:
            if self._limiter is None:
                self._limiter = RateLimiter(settings.api_rate_limit)
            return self._limiter

    def refusals(self) -> RateLimiter:
        """The bucket of refused calls, by token name (known tokens) or client address."""
        return self._refusals

    def _record(self, entry: audit.AuditEntry) -> None:
        audit.record(self.engine(), entry)

    def repeats(self) -> Repeats:
        """Identical refusals collapsed into one audit row a window (`api.repeats`)."""
        with self._lock:
            if self._repeats is None:
                self._repeats = Repeats(self._record)
                self._flusher = Flusher(self._repeats)
            return self._repeats

    def close(self) -> None:
        """Writes the refusals still counted, then closes the database connections."""
        if self._flusher is not None and self._repeats is not None:
            self._flusher.stop()
            try:
                self._repeats.flush_all()
            except Exception:
                log.warning("could not write the collapsed audit rows at shutdown", exc_info=True)
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


CONTEXT = ApiContext()
"""The process's context: the server is one process serving the pages and the API."""
