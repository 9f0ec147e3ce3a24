"""`detect`, and the detections after each successful poll: the rules file checked before
the ingest starts, a failed scoring logged and left to the next poll."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from config.settings import Settings, spec
from db.locks import AlreadyRunning, cycle_lock
from ingest.commands.common import (
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_RUNNING,
    UserError,
    cli_tenant,
    database_errors,
    log,
    open_engine,
    written_to,
)
from ingest.detect.config import DetectionConfig, DetectionConfigError, load_config
from ingest.detect.runner import detect
from ingest.poller import one_line


def load_detections(settings: Settings) -> DetectionConfig:
    """The rules file; a missing or broken one is a configuration error (exit 2)."""
    required = settings.detections_file != spec("DETECTIONS_FILE").default
    try:
        return load_config(Path(settings.detections_file).expanduser(), required=required)
    except DetectionConfigError as exc:
        raise UserError(str(exc), EXIT_CONFIG) from None


def detections_after_cycle(
    engine: Engine, settings: Settings, config: DetectionConfig
) -> Callable[[], None]:
    """Detections after a successful poll: a failure is logged, never fails the ingest."""

    def run() -> None:
        try:
            log.info(
                detect(
                    engine, cli_tenant(), settings.display_tz, config, settings.lookback_seconds
                ).line()
            )
        except Exception as exc:  # the searches are stored; the next cycle scores again
            log.error("detect failed, will retry after the next poll: %s", one_line(exc))
            log.debug("details", exc_info=True)

    return run


def command_detect(settings: Settings) -> int:
    config = load_detections(settings)
    engine = open_engine(settings)
    try:
        with database_errors(engine), cycle_lock(engine, cli_tenant()):
            result = detect(
                engine, cli_tenant(), settings.display_tz, config, settings.lookback_seconds
            )
        print(result.line())
        written_to(settings)
        return EXIT_OK
    except AlreadyRunning as exc:
        raise UserError(str(exc), EXIT_RUNNING) from None
    finally:
        engine.dispose()
