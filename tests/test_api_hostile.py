"""Hostile parameters against the real server over HTTP (issue 15, item 5): dates at the
ends of the calendar, tampered cursors, huge numbers, unicode, NUL and lone surrogates
(percent-encoded) in every parameter of every endpoint get a 400 problem, never a 5xx.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.endpoints import ENDPOINTS
from api.spec import Endpoint, Param
from tests.support.api_server import ApiServer, api_database, close
from tests.support.backends import ALL_BACKENDS


@pytest.fixture(scope="module", params=ALL_BACKENDS)
def hostile(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    if request.param == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL")
    folder = tmp_path_factory.mktemp(f"hostile-{request.param}")
    server = api_database(request.param, folder, "t_api_hostile")
    server.token("prober")
    server.token("prober-admin", "admin")
    try:
        yield server.start(API_RATE_LIMIT="100000")
    finally:
        close(server)


def packed(value: object) -> str:
    raw = json.dumps(value, allow_nan=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


HUGE = st.integers(min_value=-(10**40), max_value=10**40)
EXTREME_DAYS = st.sampled_from(
    ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01", "1900-01-01", "2199-12-31"]
)
MOMENTS = st.one_of(
    st.datetimes().map(lambda t: t.isoformat() + "+00:00"),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "x"]),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | HUGE | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
CURSORS = st.one_of(
    JSON_VALUES.map(packed),
    st.tuples(JSON_VALUES, MOMENTS | st.none(), JSON_VALUES).map(lambda t: packed(list(t))),
    st.tuples(HUGE | st.booleans(), MOMENTS, HUGE | st.booleans()).map(lambda t: packed(list(t))),
    st.tuples(st.just("alerts"), HUGE, EXTREME_DAYS | st.dates().map(str), HUGE, HUGE).map(
        lambda t: packed(list(t))
    ),
    st.text(max_size=30),
)
ZONES = st.sampled_from(["Europe", "America", "posixrules", "../../etc", "UTC\x00", "Etc"])
ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=30)  # NUL, surrogates too
VALUES = st.one_of(
    ANY_TEXT,
    HUGE.map(str),
    st.dates().map(str),
    EXTREME_DAYS,
    CURSORS,
    st.sampled_from(["", " ", "\x00", "\ud800", "true", "NaN", "1e400", "１２", "1_000"]),
)


def encoded(value: str) -> str:
    """Percent-encoded UTF-8; a lone surrogate as the bytes it would have (%ED%A0%80)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def values_for(param: Param) -> st.SearchStrategy[str]:
    """Hostile values, most of them aimed at what the parameter is parsed as."""
    if param.kind == "date":
        return st.one_of(EXTREME_DAYS, EXTREME_DAYS, st.dates().map(str), VALUES)
    if param.name == "cursor":
        return st.one_of(CURSORS, CURSORS, VALUES)
    if param.kind == "integer":
        return st.one_of(HUGE.map(str), VALUES)
    if param.kind == "timezone":
        return st.one_of(ZONES, VALUES)
    return VALUES


@st.composite
def calls(draw: st.DrawFn) -> tuple[Endpoint, str, bytes | None]:
    endpoint = draw(st.sampled_from(ENDPOINTS))
    path = endpoint.path
    for param in endpoint.params:
        if param.where == "path":
            value = draw(values_for(param))
            path = path.replace("{" + param.name + "}", encoded(value) or "x")
    query = [p for p in endpoint.params if p.where == "query"]
    # Each parameter once (a repeated one is refused before its value is looked at).
    given = draw(st.lists(st.sampled_from(query), max_size=4, unique=True)) if query else []
    pairs = [(p.name, draw(values_for(p))) for p in given]
    if draw(st.sampled_from([False] * 9 + [True])):  # now and then an unknown name
        pairs.append((draw(ANY_TEXT), draw(VALUES)))
    text = "&".join(f"{encoded(name)}={encoded(value)}" for name, value in pairs)
    body = None
    if endpoint.method == "POST":
        body = draw(JSON_VALUES.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=20))
    return endpoint, f"{path}?{text}" if text else path, body


def assert_never_a_server_error(server: ApiServer, endpoint: Endpoint, url: str, body) -> None:
    token = server.tokens["prober-admin" if endpoint.access == "admin" else "prober"]
    reply = server.call(endpoint.method, url, token, data=body)
    assert reply.status_code < 500, (url, body, reply.text)
    assert "Traceback" not in reply.text
    # The HTTP server itself refuses some paths (a NUL) with a plain 400 before the app.
    if reply.headers.get("content-type", "").startswith("application/problem+json"):
        assert "\n" not in reply.json()["detail"]


@pytest.mark.parametrize("examples", [60, pytest.param(600, marks=pytest.mark.slow)])
def test_no_hostile_parameter_is_a_server_error(hostile: ApiServer, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
        derandomize=True,
    )
    @given(calls())
    def probe(call: tuple[Endpoint, str, bytes | None]) -> None:
        assert_never_a_server_error(hostile, *call)

    probe()


def day(path: str) -> str:
    return f"/api/v1/days/{path}/searches"


CURSOR = "/api/v1/days/2026-03-02/searches?cursor="
ALERT_CURSOR = "/api/v1/alerts?cursor="


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/api/v1/users?to=0001-01-01", "between 1900-01-01 and 2199-12-31"),
        ("/api/v1/users?to=9999-12-31", "between 1900-01-01 and 2199-12-31"),
        ("/api/v1/searches-per-day?from=0001-01-01&to=0001-01-05", "bad date"),
        ("/api/v1/alerts?from=9999-12-31", "bad date"),
        (day("0001-01-01"), "bad date"),
        (day("9999-12-31"), "bad date"),
        (CURSOR + packed([True, None, None]), "bad cursor"),
        (CURSOR + packed([10**30, None, None]), "bad cursor"),
        (CURSOR + packed([1, "0001-01-01T00:00:00+14:00", 1]), "bad cursor"),
        (CURSOR + packed({"a": 1, "b": 2, "c": 3}), "bad cursor"),
        (CURSOR + packed([[[[[[]]]]]]), "bad cursor"),
        (ALERT_CURSOR + packed(["alerts", 1, "2026-03-02", 10**30, 1]), "bad cursor"),
        (ALERT_CURSOR + packed(["alerts", True, "2026-03-02", 1, 1]), "bad cursor"),
        (ALERT_CURSOR + packed(["alerts", 1, "9999-12-31", 1, 1]), "bad cursor"),
        ("/api/v1/users?q=a%00b", "NUL"),
        ("/api/v1/users?user=a%00", "NUL or an invalid character"),
        ("/api/v1/alerts?user=%00", "NUL or an invalid character"),
        ("/api/v1/users?tz=..%2F..%2Fetc%2Fpasswd", "unknown time zone"),
        ("/api/v1/users?tz=Europe", "unknown time zone"),
        ("/api/v1/users/a@x.com/searches?limit=" + "9" * 30, "whole number"),
        ("/api/v1/users?" + "&".join(["user=a"] * 101), "at most 100"),
    ],
)
def test_every_hostile_parameter_is_a_400_problem(hostile: ApiServer, url: str, words: str) -> None:
    reply = hostile.call("GET", url, hostile.tokens["prober"])
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert words in reply.json()["detail"], reply.json()


def test_a_huge_or_deeply_nested_body_is_a_400_problem(hostile: ApiServer) -> None:
    admin = hostile.tokens["prober-admin"]
    for body, words in (
        (b"[" * 100_000 + b"]" * 100_000, "too large"),
        (b"[" * 20_000 + b"]" * 20_000, "must be a JSON object"),
        (b'{"confirm": "yes"}', "must be true or false"),
    ):
        reply = hostile.call("POST", "/api/v1/admin/reset-cursor", admin, data=body)
        assert reply.status_code == 400, reply.text
        assert words in reply.json()["detail"]
