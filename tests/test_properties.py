"""Property-based checks (hypothesis) on what the API can send: every record is stored or
rejected with a reason, and every response is read or refused with a MimecastError —
never another exception — both in the parsing functions and through the real client over
HTTP, with the simulator serving each generated body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.client import (
    MimecastClient,
    MimecastError,
    Page,
    _next_token,
    _records_of,
    _total_count,
)
from ingest.records import EventKeyer, Rejection, SearchEvent, parse_record
from ingest.simulator import SimConfig, Simulator
from tests.conftest import SIM_ID, SIM_SECRET

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
