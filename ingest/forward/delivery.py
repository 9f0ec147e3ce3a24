"""Delivering one destination's pending messages: read a batch after its cursor, send it,
and move the cursor in the database only after the receiver acknowledged it.

Transient failures are retried with bounded exponential backoff and jitter (tenacity),
waiting at least as long as a 429's `Retry-After`, until the pass's deadline; the next pass
resumes from the cursor. A batch the receiver calls malformed is split until the offending
messages are alone, and those are parked in `forward_dead_letters` with the reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential_jitter

from db.state import forwarding
from db.state.forwarding import DeadLetter, ForwardPosition
from ingest.forward.acceptance import Refused, Rejected, TransientError
from ingest.forward.config import Destination
from ingest.forward.formats import ENCODERS, Encoder
from ingest.forward.messages import Alert, HorizonBusy, Message, Source, source_for
from ingest.forward.notify import slack_message, teams_message, webhook_body
from ingest.forward.transports import Outgoing, Transport

log = logging.getLogger("ingest.forward")

BACKOFF_INITIAL, BACKOFF_MAX, BACKOFF_JITTER = 0.5, 60.0, 0.5
HORIZON_ATTEMPTS, HORIZON_PAUSE = 20, 0.25


class DeliveryFailed(Exception):
    """The destination could not take the pending messages in this pass; the cursor stays
    where the last acknowledged batch left it."""


@dataclass
class DeliveryResult:
    """How one tenant's stream to one destination went in a pass."""

    destination: str
    tenant: str
    delivered: int = 0
    parked: int = 0
    batches: int = 0
    error: str | None = None
    complete: bool = False  # everything up to the horizon was delivered
    retries: int = 0  # transient failures waited out
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _json_of(build: Callable[[Alert], dict[str, Any]]) -> Encoder:
    return lambda alert: orjson.dumps(build(alert))  # type: ignore[arg-type]


CHAT_ENCODERS: dict[str, Encoder] = {
    "slack": _json_of(slack_message),
    "teams": _json_of(teams_message),
    "webhook": webhook_body,  # type: ignore[dict-item]  # signed by the transport per request
}


def encoder_for(destination: Destination) -> Encoder:
    return ENCODERS.get(destination.format) or CHAT_ENCODERS[destination.format]


def ensure_cursor(
    engine: Engine, tenant: str, destination: Destination, since: datetime | None
) -> ForwardPosition:
    """The cursor of `tenant`'s stream to the destination, created at position 0 (the
    oldest stored message) with `since` (skip older ones) the first time it is seen."""
    with engine.begin() as conn:
        found = forwarding.read_position(conn, tenant, destination.name)
        if found is None:
            start = since or destination.since
            return forwarding.create_position(
                conn, tenant, destination.name, destination.source, start
            )
    if since is not None:
        log.warning(
            "%s: --since is for a stream forwarding for the first time; tenant %s carries "
            "on from its cursor",
            destination.name,
            tenant,
        )
    return found


def record_error(engine: Engine, tenant: str, name: str, error: str | None) -> None:
    with engine.begin() as conn:
        forwarding.record_error(conn, tenant, name, error)


def commit_batch(
    engine: Engine,
    tenant: str,
    destination: Destination,
    last_position: int,
    delivered: int,
    parked: Sequence[tuple[Outgoing, str]],
) -> None:
    """Dead letters and the new cursor in one transaction: both or neither."""
    letters = [
        DeadLetter(
            item.message.position, item.message.id, reason, item.body.decode("utf-8", "replace")
        )
        for item, reason in parked
    ]
    with engine.begin() as conn:
        forwarding.commit_batch(
            conn, tenant, destination.name, destination.source, last_position, delivered, letters
        )


class Sender:
    """Sends one batch with retries until it is acknowledged, split, or the deadline passes."""

    def __init__(self, transport: Transport, deadline: float, stop: threading.Event) -> None:
        self.transport, self.deadline, self.stop = transport, deadline, stop
        self.backoff = wait_exponential_jitter(
            multiplier=BACKOFF_INITIAL, max=BACKOFF_MAX, jitter=BACKOFF_JITTER
        )
        self.retries = 0

    def _wait(self, state: RetryCallState) -> float:
        wait = self.backoff(state)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return wait

    def _give_up(self, state: RetryCallState) -> bool:
        return self.stop.is_set() or time.monotonic() + state.upcoming_sleep > self.deadline

    def _pause(self, seconds: float) -> None:
        """tenacity's sleep: a stop (the ingest shutting down) ends the wait at once."""
        self.stop.wait(seconds)

    def _log_retry(self, state: RetryCallState) -> None:
        self.retries += 1
        error = state.outcome.exception() if state.outcome else None
        log.warning("receiver not reachable (%s); retrying in %.1f s", error, state.upcoming_sleep)

    def send(self, batch: Sequence[Outgoing]) -> None:
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            wait=self._wait,
            stop=self._give_up,
            sleep=self._pause,
            before_sleep=self._log_retry,
            reraise=True,
        )
        retrying(self.transport.send, batch)

    def send_or_park(self, batch: Sequence[Outgoing]) -> list[tuple[Outgoing, str]]:
        """Send; a batch rejected as malformed is halved until each bad message is alone.
        Returns the parked messages with the receiver's reason."""
        try:
            self.send(batch)
            return []
        except Rejected as exc:
            if len(batch) == 1:
                return [(batch[0], str(exc))]
        middle = len(batch) // 2
        return self.send_or_park(batch[:middle]) + self.send_or_park(batch[middle:])


def encode_batch(
    messages: Sequence[Message], encode: Encoder
) -> tuple[list[Outgoing], list[tuple[Outgoing, str]]]:
    """Each message in the destination's format; one that cannot be encoded is parked
    rather than holding up the destination for ever."""
    batch: list[Outgoing] = []
    unencodable: list[tuple[Outgoing, str]] = []
    for message in messages:
        try:
            batch.append(Outgoing(message, encode(message.item)))
        except (TypeError, ValueError) as exc:
            unencodable.append((Outgoing(message, b""), f"cannot encode: {exc}"))
    return batch, unencodable


def read_horizon(engine: Engine, source: Source, deadline: float, stop: threading.Event) -> int:
    """The source's horizon; on PostgreSQL, retried briefly while a write is in flight."""
    for _ in range(HORIZON_ATTEMPTS):
        try:
            with engine.connect() as conn:
                return source.horizon(conn) or 0
        except HorizonBusy:
            if stop.is_set() or time.monotonic() + HORIZON_PAUSE > deadline:
                break
            stop.wait(HORIZON_PAUSE)
    raise DeliveryFailed(f"the ingest is writing; {source.name} it has not committed yet wait")


def deliver(
    engine: Engine,
    tenant: str,
    destination: Destination,
    transport: Transport,
    *,
    deadline: float,
    stop: threading.Event,
    since: datetime | None = None,
) -> DeliveryResult:
    """Deliver what is pending of `tenant` for one destination, batch by batch, until the
    horizon read at the start, the deadline, or a stop request.

    Positions are ids shared by every tenant. Once the stream has reached the horizon, its
    cursor moves to the horizon: every id up to it is committed, so none of them will ever
    be this tenant's, and a tenant that has gone quiet does not re-read the others' rows
    since its last search on every pass."""
    started = time.monotonic()
    result = DeliveryResult(destination.name, tenant)
    source = source_for(
        destination.source, tenant, destination.dashboard_url, destination.display_names
    )
    encode = encoder_for(destination)
    sender = Sender(transport, deadline, stop)
    try:
        cursor = ensure_cursor(engine, tenant, destination, since)
        position, start_since = cursor.position, cursor.since
        horizon = read_horizon(engine, source, deadline, stop)
        while True:
            if stop.is_set() or time.monotonic() >= deadline:
                break
            with engine.connect() as conn:
                messages = source.read(conn, position, horizon, start_since, destination.batch_size)
            if not messages:
                if horizon > position:  # the ids up to it are other tenants' for good
                    commit_batch(engine, tenant, destination, horizon, 0, [])
                result.complete = True
                break
            batch, unencodable = encode_batch(messages, encode)
            parked = unencodable + (sender.send_or_park(batch) if batch else [])
            delivered = len(messages) - len(parked)
            commit_batch(engine, tenant, destination, messages[-1].position, delivered, parked)
            position = messages[-1].position
            result.delivered += delivered
            result.parked += len(parked)
            result.batches += 1
            for item, reason in parked:
                log.warning(
                    "%s: parked %s of %s (%s)",
                    destination.name,
                    item.message.id,
                    tenant,
                    reason[:200],
                )
    except (TransientError, Refused, DeliveryFailed) as exc:
        result.error = str(exc)
        record_error(engine, tenant, destination.name, result.error)
    result.retries = sender.retries
    result.seconds = time.monotonic() - started
    return result
