"""The scale benchmark's rows: `bench/generate_tenants`' tenants, a day at a time, hour by
hour and tenant by tenant as the ingest interleaves them, each tenant with its own keys.

`generate_tenants` numbers every tenant's keys from 0 (so a tenant alone and the same tenant
among others hold the same keys); here tenant N's keys start at N × KEY_SPAN, as the ingest's
content keys differ between tenants, so the every-tenant answers count each search once.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np

from bench.generate_tenants import HOUR, Drawn, Shape, draw
from bench.synthetic import DAY, rows

KEY_SPAN = 10**9
"""Keys per tenant: tenant N's searches are numbered from N × KEY_SPAN."""

_drawn: Sequence[Drawn] = ()
_key_bases: Sequence[int] = ()
"""What the forked row builder works on: inherited at fork, never pickled."""


def key_base(name: str, distinct: bool = True) -> int:
    return int(name.rsplit("-", 1)[1]) * KEY_SPAN if distinct else 0


def _day_rows(day: int, postgres: bool) -> list[tuple[Any, ...]]:
    """Day `day`'s rows (unix day number): hour by hour, each hour tenant by tenant."""
    edges = np.arange(day * DAY, (day + 1) * DAY + 1, HOUR)
    bounds = [np.searchsorted(d.events.seconds, edges) for d in _drawn]
    out: list[tuple[Any, ...]] = []
    for hour in range(24):
        for drawn, base, cut in zip(_drawn, _key_bases, bounds, strict=True):
            start, stop = int(cut[hour]), int(cut[hour + 1])
            if stop > start:
                out.extend(rows(drawn.events, drawn.tenant, base, start, stop, postgres))
    return out


def day_chunks(
    shape: Shape, postgres: bool, distinct_keys: bool = True, first_tenant: int = 1
) -> tuple[list[Drawn], Iterator[list[tuple[Any, ...]]]]:
    """Every tenant from number `first_tenant` on drawn, and a generator of each day's
    rows, built in a forked process while the caller writes the previous day."""
    global _drawn, _key_bases
    names = shape.names()[first_tenant - 1 :]
    _drawn = [draw(shape, name) for name in names]
    _key_bases = [key_base(name, distinct_keys) for name in names]
    seconds = np.concatenate([d.events.seconds for d in _drawn])
    days = range(int(seconds.min()) // DAY, int(seconds.max()) // DAY + 1)
    return list(_drawn), _chunks(days, postgres)


def _chunks(days: range, postgres: bool) -> Iterator[list[tuple[Any, ...]]]:
    pending: deque[Future[list[tuple[Any, ...]]]] = deque()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        for day in days:
            pending.append(pool.submit(_day_rows, day, postgres))
            if len(pending) > 2:  # at most three days in memory
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
