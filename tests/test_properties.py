"""Property-based checks (hypothesis) on what the API can send: every record is stored or
rejected with a reason, and every response is read or refused with a MimecastError —
never another exception — both in the parsing functions and through the real client over
HTTP, with the simulator serving each generated body."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.engine import open_database
from ingest.client import MimecastClient, MimecastError, Page, format_api_time
from ingest.poller import CycleResult, Poller
from ingest.records import EventKeyer, Rejection, SearchEvent, parse_record
from ingest.responses import next_token as _next_token
from ingest.responses import records_of as _records_of
from ingest.responses import total_count as _total_count
from ingest.simulator import SimConfig, Simulator
from ingest.store import Store
from tests.support.backends import (
    ALL_BACKENDS,
    FILE_BACKENDS,
    file_database_url,
    fresh_postgres_database,
)
from tests.support.harness import SIM_ID, SIM_SECRET, make_settings
from tests.support.targets import parsed_targets, stored_targets
from tests.support.tenancy import TENANT
from tests.support.truth import (
    assert_rollups_and_filter_values_match_the_rows,
    canonical,
    stored_records,
    stored_rejects,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)

create_times = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S+0000")),
    st.text(max_size=30),
    json_values,
)

records = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"createTime": create_times, "emailAddr": st.one_of(st.emails(), json_values)},
        optional={
            "source": json_values,
            "searchText": st.text(),
            "searchReason": json_values,
            "description": st.text(),
            "isAdmin": json_values,
            "extra": json_values,
        },
    ),
)


@settings(max_examples=400, deadline=None)
@given(records)
def test_every_record_is_stored_or_rejected_with_a_reason(record):
    result = parse_record(record)
    assert isinstance(result, SearchEvent | Rejection)
    assert json.loads(result.raw_json) == record, "the record is kept exactly as received"
    if isinstance(result, Rejection):
        assert result.reason
    else:
        assert result.create_time.utcoffset().total_seconds() == 0
        assert result.email_addr == result.email_addr.strip().lower()
        first, second = EventKeyer(), EventKeyer()
        assert first.event_key(result) == second.event_key(parse_record(record))


bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "meta": st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "pagination": st.one_of(
                            json_values,
                            st.fixed_dictionaries(
                                {}, optional={"next": json_values, "totalCount": json_values}
                            ),
                        )
                    },
                ),
            ),
            "data": st.one_of(
                json_values,
                st.lists(
                    st.one_of(
                        json_values,
                        st.fixed_dictionaries(
                            {"logs": st.one_of(json_values, st.lists(records, max_size=3))}
                        ),
                    ),
                    max_size=3,
                ),
            ),
            "fail": json_values,
        },
    ),
)


@settings(max_examples=400, deadline=None)
@given(bodies)
def test_any_response_body_is_read_or_refused_with_a_mimecast_error(body):
    if not isinstance(body, dict):
        return  # the client refuses non-objects before reading pages
    try:
        logs = _records_of(body)
    except MimecastError as exc:
        assert str(exc)
        return
    assert isinstance(logs, list)
    token = _next_token(body)
    assert token is None or (isinstance(token, str) and token)
    assert _total_count(body, default=7) >= 1


@pytest.fixture(scope="module")
def body_server() -> Iterator[Simulator]:
    """One simulator for every example: each example queues the body it wants served."""
    with Simulator(SimConfig(seed=1, days=2, events_per_day=50, late_fraction=0.0)) as sim:
        yield sim


served_bodies = st.one_of(
    bodies.map(lambda body: json.dumps(body).encode()),
    st.binary(max_size=64),
    st.text(max_size=64).map(str.encode),
)


def read_served(sim: Simulator, body: bytes) -> list[Page]:
    """The pages the real client reads when the simulator answers with `body`: one try,
    no backoff."""
    sim.clear_faults()
    sim.queue_bodies([body])
    end = datetime.now(UTC)
    client = MimecastClient(sim.base_url, SIM_ID, SIM_SECRET, sleep=lambda _s: None, max_attempts=1)
    try:
        return list(client.iter_pages(end - timedelta(hours=1), end))
    finally:
        client.close()


@settings(max_examples=150, deadline=None, database=None)
@given(body=served_bodies)
def test_any_body_over_http_is_read_as_pages_or_refused_with_a_mimecast_error(body_server, body):
    try:
        pages = read_served(body_server, body)
    except MimecastError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for page in pages:
        assert isinstance(page.records, list) and page.records, "an empty page ends the paging"


@pytest.mark.parametrize("fail", [True, 1, "yes", {"code": "x"}, [1, None]])
def test_a_fail_that_is_not_a_list_is_refused_with_a_mimecast_error(body_server, fail):
    with pytest.raises(MimecastError):
        read_served(body_server, json.dumps({"meta": {"status": 200}, "fail": fail}).encode())


# --- hostile records through the real client, store and rollups ----------------------------

any_character = st.characters(codec=None, exclude_categories=())  # lone surrogates and NUL too
hostile_text = st.one_of(
    st.text(any_character, max_size=40),
    st.sampled_from(["", "\x00", "\ud800", "a\udfffb", " \t\n", "<>", "=1+1", "\ufffd"]),
    st.builds(lambda char, count: char * count, any_character, st.integers(2_000, 7_000)),
)
hostile_values = st.one_of(hostile_text, json_values, st.lists(hostile_text, max_size=3))
# Search texts shaped like targets (`[User : …]`, `<id@host>`) around hostile values: the
# search-target parser runs on every stored search (tests/test_targets_parse.py).
target_shaped = st.tuples(
    st.sampled_from(["[User : ", "[Route : ", "<", "x@", "1-2@"]),
    hostile_text,
    st.sampled_from(["]", ">", "@example.com", "@h.io ", ""]),
).map("".join)
EXTREME_TIMES = (
    "0001-01-01T00:30:00+0100",
    "9999-12-31T23:59:59-0100",
    "0001-01-01T00:00:00+0000",
    "1969-12-31T23:59:59Z",
    "9999-01-01T00:00:00+0000",
    "2026-02-30T00:00:00+0000",
)
FIELDS = ("source", "searchText", "searchReason", "description", "searchPath", "museQuery")


def create_times_near(moment: datetime) -> st.SearchStrategy[object]:
    """A createTime a minute or two (or days) before `moment` in one of the forms the ingest
    reads, an extreme or impossible one, or any JSON value at all."""

    def forms(at: datetime) -> list[str]:
        return [
            at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            (at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.123+01:00"),
        ]

    # inside the window, or days before it (each example's own times: no key is shared)
    near = st.one_of(st.integers(61, 179), st.integers(86_400, 9 * 86_400)).map(
        lambda seconds: moment - timedelta(seconds=seconds)
    )
    return st.one_of(
        near.flatmap(lambda at: st.sampled_from(forms(at))),
        st.sampled_from(EXTREME_TIMES),
        hostile_values,
    )


def hostile_records(moment: datetime) -> st.SearchStrategy[object]:
    """Any JSON value for every field (or a record that is not an object at all)."""
    record = st.fixed_dictionaries(
        {
            "createTime": create_times_near(moment),
            "emailAddr": st.one_of(st.emails(), hostile_values),
        },
        optional={
            **dict.fromkeys(FIELDS, hostile_values),
            "searchText": st.one_of(hostile_values, target_shaped),
            "isAdmin": st.one_of(st.booleans(), hostile_values),
            "extra": hostile_values,
        },
    )
    named = st.dictionaries(hostile_text, hostile_values, max_size=3)
    return st.one_of(
        record, st.tuples(record, named).map(lambda pair: {**pair[1], **pair[0]}), json_values
    )


class HostileRun:
    """A simulator, a database and an ingest cycle per example: each example's page is the
    body the simulator serves to the cycle's one request, two ordinary searches around
    hostile records."""

    BASE = datetime(2026, 3, 1, tzinfo=UTC)

    def __init__(self, sim: Simulator, url: str, folder: Path) -> None:
        self.sim, self.url = sim, url
        self.settings = make_settings(sim.base_url, folder / "unused.db", DATABASE_URL=url)
        self.store = Store(open_database(url), TENANT)
        self.examples = 0

    def next_moment(self) -> datetime:
        self.examples += 1
        return self.BASE + timedelta(hours=4 * self.examples)

    def serve_and_ingest(self, moment: datetime, records: list[object]) -> CycleResult:
        body = {
            "meta": {"status": 200, "pagination": {"pageSize": 100, "totalCount": len(records)}},
            "data": [{"logs": records}],
        }
        self.sim.clear_faults()
        self.sim.queue_bodies([json.dumps(body).encode()])  # \u escapes: any string goes
        self.store.advance_cursor(moment - timedelta(hours=1), backfill_done=True)
        client = MimecastClient(self.sim.base_url, SIM_ID, SIM_SECRET, sleep=lambda _s: None)
        try:
            poller = Poller(self.settings, self.store, client, clock=lambda: moment)
            return poller.run_cycle()
        finally:
            client.close()


@pytest.fixture(scope="module", params=ALL_BACKENDS)
def hostile_run(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[HostileRun]:
    folder = tmp_path_factory.mktemp("hostile")
    if request.param in FILE_BACKENDS:
        url = file_database_url(request.param, folder / "data" / "searchlogs.db")
    else:
        server = os.environ.get("TEST_DATABASE_URL")
        if not server:
            pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL (scripts/test starts one)")
        url = fresh_postgres_database(server, f"t_hostile_{os.getpid()}")
    config = SimConfig(seed=8, days=1, events_per_day=10, late_fraction=0.0)
    with Simulator(config) as sim:
        run = HostileRun(sim, url, folder)
        yield run
        run.store.engine.dispose()


def check_hostile_records_are_accounted_for(run: HostileRun, data: st.DataObject) -> None:
    moment = run.next_moment()
    hostile = data.draw(st.lists(hostile_records(moment), min_size=1, max_size=3))
    tag = f"example {run.examples}"
    newer = {"createTime": format_api_time(moment - timedelta(seconds=60)), "emailAddr": "n@x.io"}
    older = {"createTime": format_api_time(moment - timedelta(seconds=180)), "emailAddr": "o@x.io"}
    newer |= {"searchText": f"[User : t{run.examples}@x.io] {tag}", "source": "archive"}
    newer |= {"description": "Archive Search"}
    older |= {"searchText": tag, "description": "Message Tracking Search"}
    served = [newer, *hostile, older]
    received = json.loads(json.dumps(served))  # what the client reads (paired surrogates join)
    stored_before, rejected_before = stored_records(run.url), stored_rejects(run.url)

    result = run.serve_and_ingest(moment, served)

    assert result.status == "ok"
    window_start = moment - timedelta(hours=1, seconds=run.settings.lookback_seconds)
    expected_stored = Counter({canonical(received[0]): 1, canonical(received[-1]): 1})
    expected_rejected: Counter[str] = Counter()
    outside = 0
    for record in received[1:-1]:
        parsed = parse_record(record)
        if isinstance(parsed, Rejection):
            expected_rejected[canonical(record)] += 1
        elif window_start <= parsed.create_time <= moment:
            expected_stored[canonical(record)] += 1
        else:
            outside += 1  # another window's search: counted, stored by the poll covering it
    assert stored_records(run.url) - stored_before == expected_stored
    assert stored_rejects(run.url) - rejected_before == expected_rejected
    assert result.counts.out_of_window == outside
    assert_rollups_and_filter_values_match_the_rows(run.store)
    assert stored_targets(run.store.engine) == parsed_targets(run.store.engine)


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_records_never_stop_the_ingest_and_each_is_stored_or_rejected_once(
    hostile_run, data
):
    check_hostile_records_are_accounted_for(hostile_run, data)


@pytest.mark.slow
@settings(
    max_examples=500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_many_hostile_records_never_stop_the_ingest_and_each_is_stored_or_rejected_once(
    hostile_run, data
):
    if hostile_run.url.startswith("sqlite+libsql:"):
        # libSQL runs the same SQL as SQLite through another driver: its 100 examples above
        # cover the driver; 500 more would add minutes to CI for no new statement.
        pytest.skip("libSQL runs the 100-example version of this property only")
    check_hostile_records_are_accounted_for(hostile_run, data)
