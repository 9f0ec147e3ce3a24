"""The Mimecast API simulator keeps the real API's contract and quirks.

Every test talks HTTP to a real `Simulator` on loopback, with an injectable clock so that
"now", visibility and token expiry are under the test's control.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from ingest.simulator import SimConfig, Simulator
from ingest.simulator.store import is_valid_record
from ingest.simulator.timefmt import format_api_time, parse_api_time, to_epoch

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 12, 12, 0, 0, tzinfo=UTC)  # a Thursday
ARCHIVE = "/api/archive/get-archive-search-logs"
CREDENTIALS = {
    "client_id": "sim-client-id",
    "client_secret": "sim-client-secret",
    "grant_type": "client_credentials",
}


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Client:
    """A minimal, correct API client: the tests' view of the simulator."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.token: str | None = None

    def request_token(self, **form: str) -> requests.Response:
        return self.http.post(f"{self.base_url}/oauth/token", data={**CREDENTIALS, **form})

    def login(self) -> str:
        self.token = self.request_token().json()["access_token"]
        return self.token

    def search(self, body: dict | None = None, path: str = ARCHIVE) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return self.http.post(f"{self.base_url}{path}", json=body or {}, headers=headers)

    def fetch_all(self, start: str, end: str, page_size: int = 100) -> list[object]:
        """Every record in the window, following `next` until an empty page."""
        body = window_body(start, end, page_size)
        records: list[object] = []
        for _ in range(1_000):
            doc = self.search(body).json()
            logs = doc["data"][0]["logs"] if doc["data"] else []
            if not logs:
                return records
            records.extend(logs)
            body["meta"]["pagination"]["pageToken"] = doc["meta"]["pagination"]["next"]
        raise AssertionError("pagination did not end")


def window_body(start: str, end: str, page_size: int = 100) -> dict:
    return {"meta": {"pagination": {"pageSize": page_size}}, "data": [{"start": start, "end": end}]}


def api_time(moment: datetime) -> str:
    return format_api_time(to_epoch(moment))


def day_window(day: datetime) -> tuple[str, str]:
    midnight = day.replace(hour=0, minute=0, second=0)
    return api_time(midnight), api_time(midnight + timedelta(days=1) - timedelta(seconds=1))


def record_at(moment: datetime, who: str = "probe@example.com", text: str = "") -> dict:
    return {
        "createTime": api_time(moment),
        "emailAddr": who,
        "source": "archive",
        "searchText": text,
        "searchReason": "",
        "description": "Message Tracking Search",
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def make_sim(clock: FakeClock) -> Iterator[Callable[..., Simulator]]:
    started: list[Simulator] = []

    def make(**overrides: object) -> Simulator:
        settings = {"clock": clock, "days": 10, "twin_fraction": 0.05, **overrides}
        sim = Simulator(SimConfig(**settings))  # type: ignore[arg-type]
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim()


@pytest.fixture
def client(sim: Simulator) -> Client:
    api = Client(sim.base_url)
    api.login()
    return api


# --- token -----------------------------------------------------------------------------------


def test_token_is_a_bearer_token_with_its_lifetime(sim: Simulator) -> None:
    response = Client(sim.base_url).request_token()
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1799
    assert body["scope"] == ""
    assert len(body["access_token"]) >= 20


def test_bad_credentials_get_401_invalid_client(sim: Simulator) -> None:
    response = Client(sim.base_url).request_token(client_secret="wrong")
    assert response.status_code == 401
    assert response.json() == {
        "fail": [{"code": "invalid_client", "message": "Invalid client credentials"}]
    }


@pytest.mark.parametrize("form", [{"grant_type": "password"}, {"client_id": ""}])
def test_wrong_grant_type_or_missing_field_gets_400(sim: Simulator, form: dict) -> None:
    response = Client(sim.base_url).request_token(**form)
    assert response.status_code == 400
    assert response.json()["fail"][0]["code"] in {"unsupported_grant_type", "invalid_request"}


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_missing_or_unknown_token_gets_401(sim: Simulator, token: str | None) -> None:
    api = Client(sim.base_url)
    api.token = token
    response = api.search()
    assert response.status_code == 401
    assert response.json()["fail"][0]["errors"][0]["code"] == "unauthorized"


def test_expired_token_gets_401(sim: Simulator, clock: FakeClock) -> None:
    sim.set_token_lifetime(5)
    api = Client(sim.base_url)
    api.login()
    assert api.search().status_code == 200
    clock.advance(seconds=5)
    response = api.search()
    assert response.status_code == 401
    assert response.json()["fail"][0]["errors"] == [
        {"code": "token_expired", "message": "The access token has expired", "retryable": False}
    ]
    api.login()
    assert api.search().status_code == 200


# --- windows -----------------------------------------------------------------------------------


def test_same_window_returns_same_events_across_restarts(
    make_sim: Callable[..., Simulator], clock: FakeClock
) -> None:
    start, end = day_window(NOW - timedelta(days=4))
    first = Client(make_sim().base_url)
    first.login()
    records = first.fetch_all(start, end)
    clock.advance(days=2, hours=5)  # a later start of the server, the same world
    second = Client(make_sim().base_url)
    second.login()
    other_seed = Client(make_sim(seed=7).base_url)
    other_seed.login()

    assert len(records) > 100
    assert second.fetch_all(start, end) == records
    assert other_seed.fetch_all(start, end) != records


def test_from_to_keys_are_ignored_and_current_day_served(client: Client) -> None:
    asked = {"from": api_time(NOW - timedelta(days=5)), "to": api_time(NOW - timedelta(days=4))}
    body = {"meta": {"pagination": {"pageSize": 100}}, "data": [asked]}
    served = client.search(body).json()
    today = client.search(window_body(*day_window(NOW))).json()
    assert served["meta"]["pagination"]["totalCount"] == today["meta"]["pagination"]["totalCount"]
    assert served["data"] == today["data"]
    assert all(log["createTime"].startswith("2026-11-12T") for log in served["data"][0]["logs"])


def test_missing_window_means_current_utc_day(client: Client) -> None:
    served = client.search({}).json()
    today = client.search(window_body(*day_window(NOW))).json()
    assert served["meta"]["pagination"]["totalCount"] > 0
    assert served["data"] == today["data"]


def test_bounds_are_inclusive_so_edge_second_is_in_both_windows(
    sim: Simulator, client: Client
) -> None:
    edge = NOW - timedelta(days=2, hours=3)
    sim.add_events([record_at(edge, text="edge probe")])
    before = client.fetch_all(api_time(edge - timedelta(hours=1)), api_time(edge))
    after = client.fetch_all(api_time(edge), api_time(edge + timedelta(hours=1)))
    probe = record_at(edge, text="edge probe")
    assert probe in before
    assert probe in after


@pytest.mark.parametrize(
    "bad_date",
    ["2026-11-01", "2026-11-01T00:00:00+00:00", "2026-11-01T00:00:00.000Z", "yesterday"],
)
def test_bad_date_gets_400_with_fail_body(client: Client, bad_date: str) -> None:
    response = client.search(window_body(bad_date, api_time(NOW)))
    assert response.status_code == 400
    error = response.json()["fail"][0]["errors"][0]
    assert error["code"] == "err_validation_invalid_date"
    assert error["retryable"] is False


def test_z_suffix_is_accepted_like_plus_0000(client: Client) -> None:
    start, end = day_window(NOW - timedelta(days=1))
    with_z = client.search(window_body(start.replace("+0000", "Z"), end.replace("+0000", "Z")))
    assert with_z.status_code == 200
    assert with_z.json()["data"] == client.search(window_body(start, end)).json()["data"]


# --- pages -------------------------------------------------------------------------------------


def test_page_size_capped_at_100(client: Client) -> None:
    doc = client.search(window_body(*day_window(NOW - timedelta(days=1)), page_size=500)).json()
    assert doc["meta"]["pagination"]["totalCount"] > 100
    assert len(doc["data"][0]["logs"]) == 100
    assert doc["meta"]["pagination"]["pageSize"] == 100


@pytest.mark.parametrize("size", [0, -1, "100", 2.5])
def test_page_size_below_one_or_not_an_integer_gets_400(client: Client, size: object) -> None:
    body = window_body(*day_window(NOW))
    body["meta"]["pagination"]["pageSize"] = size
    response = client.search(body)
    assert response.status_code == 400
    assert response.json()["fail"][0]["errors"][0]["code"] == "err_validation_page_size"


def test_newest_first(client: Client) -> None:
    records = client.fetch_all(*day_window(NOW - timedelta(days=3)))
    times = [parse_api_time(record["createTime"]) for record in records]
    assert len(times) > 100
    assert times == sorted(times, reverse=True)


def test_last_page_carries_next_then_empty_page(client: Client) -> None:
    body = window_body(*day_window(NOW - timedelta(days=1)))
    total = client.search(body).json()["meta"]["pagination"]["totalCount"]
    pages = []
    while True:
        doc = client.search(body).json()
        pages.append(doc)
        if not doc["data"]:
            break
        body["meta"]["pagination"]["pageToken"] = doc["meta"]["pagination"]["next"]
    *full, empty = pages
    assert sum(len(page["data"][0]["logs"]) for page in full) == total
    assert all("next" in page["meta"]["pagination"] for page in full)
    assert empty["data"] == []
    assert empty["fail"] == []
    assert empty["meta"]["pagination"]["next"] == "String"


def test_string_page_token_returns_the_empty_page(client: Client) -> None:
    body = window_body(*day_window(NOW))
    body["meta"]["pagination"]["pageToken"] = "String"
    doc = client.search(body).json()
    assert doc["data"] == []
    assert doc["meta"]["pagination"]["next"] == "String"


def test_garbage_page_token_gets_400(client: Client) -> None:
    body = window_body(*day_window(NOW))
    body["meta"]["pagination"]["pageToken"] = "not a token"
    assert client.search(body).status_code == 400


def test_previous_present_only_after_the_first_page(client: Client) -> None:
    body = window_body(*day_window(NOW - timedelta(days=1)))
    first = client.search(body).json()["meta"]["pagination"]
    body["meta"]["pagination"]["pageToken"] = first["next"]
    second = client.search(body).json()["meta"]["pagination"]
    assert "previous" not in first
    assert "previous" in second


def test_empty_window_has_no_next(client: Client) -> None:
    long_ago = NOW - timedelta(days=400)
    doc = client.search(window_body(*day_window(long_ago))).json()
    assert doc["data"] == [{"logs": []}]
    assert doc["meta"]["pagination"]["totalCount"] == 0
    assert "next" not in doc["meta"]["pagination"]


def test_page_token_carries_window_when_data_not_resent(client: Client) -> None:
    window = day_window(NOW - timedelta(days=2))
    first = client.search(window_body(*window)).json()
    without_data = {"meta": {"pagination": {"pageSize": 100}}}
    without_data["meta"]["pagination"]["pageToken"] = first["meta"]["pagination"]["next"]
    second = client.search(without_data).json()
    expected = client.fetch_all(*window)[100:200]
    assert second["data"][0]["logs"] == expected


def test_pagination_stable_while_new_events_arrive(
    sim: Simulator, client: Client, clock: FakeClock
) -> None:
    start, end = api_time(NOW - timedelta(hours=12)), api_time(NOW + timedelta(hours=12))
    expected, _ = sim.truth(start, end)
    body = window_body(start, end, page_size=50)
    served = []
    while True:
        doc = client.search(body).json()
        if not doc["data"]:
            break
        served.extend(doc["data"][0]["logs"])
        clock.advance(minutes=20)  # late and new events turn up between pages
        client.login()  # the old token has expired by now
        sim.add_events([record_at(clock.now - timedelta(minutes=5), text="arrived mid-way")])
        body["meta"]["pagination"]["pageToken"] = doc["meta"]["pagination"]["next"]
    assert served == expected
    assert len(sim.truth(start, end)[0]) > len(expected)


def test_offset_paging_serves_a_record_twice_when_a_late_search_lands_among_read_pages(
    make_sim: Callable[..., Simulator], clock: FakeClock
) -> None:
    sim = make_sim(paging="offset", twin_fraction=0.0)
    client = Client(sim.base_url)
    client.login()
    start, end = api_time(NOW - timedelta(hours=12)), api_time(NOW)
    before, _ = sim.truth(start, end)
    body = window_body(start, end, page_size=50)
    first = client.search(body).json()
    sim.add_events([record_at(NOW - timedelta(minutes=1), text="landed mid-window")])
    body["meta"]["pagination"]["pageToken"] = first["meta"]["pagination"]["next"]
    second = client.search(body).json()
    assert second["data"][0]["logs"][0] == first["data"][0]["logs"][-1], "the pages shifted"
    assert second["meta"]["pagination"]["totalCount"] == len(before) + 1


def test_token_paging_is_the_default_and_an_unknown_mode_is_refused() -> None:
    assert SimConfig().paging == "token"
    with pytest.raises(ValueError, match="paging must be one of"):
        SimConfig(paging="cursor")


def test_events_added_after_pages_land_once_that_many_pages_were_served(
    sim: Simulator, client: Client
) -> None:
    start, end = api_time(NOW - timedelta(hours=12)), api_time(NOW)
    late = record_at(NOW - timedelta(days=2), text="two days late")
    sim.add_events_after_pages(2, [late])
    body = window_body(start, end)
    client.search(body)
    assert late not in sim.truth(NOW - timedelta(days=3), NOW)[0]
    client.search(body)
    assert late in sim.truth(NOW - timedelta(days=3), NOW)[0], "visible days after createTime"


@pytest.mark.parametrize(("error", "expected"), [(-5, -5), (3, 3), (None, None)])
def test_total_count_can_be_off_or_absent(
    make_sim: Callable[..., Simulator], error: int | None, expected: int | None
) -> None:
    sim = make_sim(total_count_error=error)
    client = Client(sim.base_url)
    client.login()
    window = day_window(NOW - timedelta(days=1))
    served = len(client.fetch_all(*window))
    pagination = client.search(window_body(*window)).json()["meta"]["pagination"]
    if expected is None:
        assert "totalCount" not in pagination
    else:
        assert pagination["totalCount"] == served + expected


# --- data --------------------------------------------------------------------------------------


def test_twins_are_identical(client: Client) -> None:
    records = client.fetch_all(*day_window(NOW - timedelta(days=1)))
    counts = Counter(repr(sorted(record.items())) for record in records)
    twins = [key for key, count in counts.items() if count == 2]
    assert twins, "twin_fraction=0.05 should give identical pairs"
    for index, record in enumerate(records[:-1]):
        if repr(sorted(record.items())) in twins and records[index + 1] == record:
            break
    else:
        raise AssertionError("twins should be served next to each other")


def test_late_events_become_visible_later(
    make_sim: Callable[..., Simulator], clock: FakeClock
) -> None:
    sim = make_sim(late_fraction=0.3)
    api = Client(sim.base_url)
    api.login()
    window = api_time(NOW - timedelta(hours=3)), api_time(NOW)
    earlier = api.fetch_all(*window)
    clock.advance(hours=2)
    api.login()
    later = api.fetch_all(*window)
    appeared = [record for record in later if record not in earlier]
    old_but_new = [
        record
        for record in appeared
        if parse_api_time(record["createTime"]) < to_epoch(NOW - timedelta(minutes=9))
    ]
    assert all(record in later for record in earlier)
    assert old_but_new, "events created well before the first read arrived late"


def test_truth_matches_served_records(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(malformed_rate=0.03)
    api = Client(sim.base_url)
    api.login()
    start, end = api_time(NOW - timedelta(days=2, hours=7)), api_time(NOW)
    served = api.fetch_all(start, end)
    valid, malformed = sim.truth(start, end)
    assert [record for record in served if is_valid_record(record)] == valid
    assert [record for record in served if not is_valid_record(record)] == malformed
    assert malformed


def test_malformed_records_cover_every_kind(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(malformed_rate=0.05)
    _, malformed = sim.truth(NOW - timedelta(days=6), NOW)
    kinds = set()
    for record in malformed:
        if not isinstance(record, dict):
            kinds.add(type(record).__name__)
        elif "createTime" not in record:
            kinds.add("missing createTime")
        elif record["createTime"] == "not a date":
            kinds.add("not a date")
        elif not record["createTime"].endswith("+0000"):
            kinds.add("no offset")
        elif not isinstance(record["emailAddr"], str):
            kinds.add("emailAddr not a string")
    assert kinds >= {"str", "NoneType", "missing createTime", "not a date", "no offset"}
    assert kinds & {"int", "float"}
    assert "emailAddr not a string" in kinds


def test_history_looks_like_a_real_tenant(sim: Simulator) -> None:
    valid, _ = sim.truth(NOW - timedelta(days=9), NOW)
    people = Counter(record["emailAddr"] for record in valid)
    lowered = Counter(address.lower() for address in people.elements())
    texts = {record["searchText"] for record in valid}
    by_weekday = Counter(
        datetime.fromtimestamp(parse_api_time(r["createTime"]), UTC).weekday() for r in valid
    )
    assert 30 <= len(lowered) <= 45
    assert "Admin@Example.com" in people and "admin@example.com" in people
    assert lowered.most_common(1)[0][0] == "admin@example.com"
    assert "<>" in people
    assert any(re.fullmatch(r"api-[0-9a-f-]{36}@example\.com", address) for address in people)
    assert "" in texts and "[Status : held]" in texts
    assert any(text.startswith("<") and text.endswith(">") and "@" in text for text in texts)
    assert min(by_weekday[5], by_weekday[6]) < 0.6 * min(by_weekday[d] for d in range(5))
    assert any("searchReason" not in record for record in valid)
    assert any(record.get("searchReason") for record in valid)
    assert {r["description"] for r in valid} >= {
        "Message Tracking Search",
        "Audit [Page 1] - Depth 100",
        "Threat Remediation search",
        "Archive Search",
    }


def test_hostile_text_is_served_unchanged(sim: Simulator, client: Client) -> None:
    nasty = [
        "<script>alert(1)</script>",
        '=HYPERLINK("http://evil","x")',
        "Überweisung 請求書 🔒",
        "line one\nline two",
    ]
    moment = NOW - timedelta(hours=4)
    sim.add_events([record_at(moment, text=text) for text in nasty])
    served = client.fetch_all(api_time(moment), api_time(moment))
    assert sorted(
        record["searchText"] for record in served if record["emailAddr"] == "probe@example.com"
    ) == sorted(nasty)


def test_get_search_logs_adds_muse_query(client: Client) -> None:
    body = window_body(*day_window(NOW - timedelta(days=1)))
    plain = client.search(body).json()["data"][0]["logs"]
    muse = client.search(body, path="/api/archive/get-search-logs").json()["data"][0]["logs"]
    assert all("museQuery" in log for log in muse)
    assert [{k: v for k, v in log.items() if k != "museQuery"} for log in muse] == plain


def test_added_events_wait_for_visible_after_seconds(
    sim: Simulator, client: Client, clock: FakeClock
) -> None:
    moment = NOW - timedelta(minutes=30)
    records = [{**record_at(moment, text="delayed"), "_visibleAfterSeconds": 600}, "broken"]
    reply = requests.post(f"{sim.base_url}/_sim/events", json=records, timeout=5)
    assert reply.json() == {"added": 2}
    window = api_time(moment), api_time(NOW)
    assert record_at(moment, text="delayed") not in client.fetch_all(*window)
    clock.advance(seconds=600)
    served = client.fetch_all(*window)
    assert record_at(moment, text="delayed") in served
    assert "broken" in served
    truth = requests.get(
        f"{sim.base_url}/_sim/truth",
        params=dict(zip(["start", "end"], window, strict=True)),
        timeout=5,
    ).json()
    assert record_at(moment, text="delayed") in truth["valid"]
    assert "broken" in truth["malformed"]


# --- faults ------------------------------------------------------------------------------------


def test_queued_429_has_reset_milliseconds(sim: Simulator, client: Client) -> None:
    sim.queue_faults(["429"])
    response = client.search()
    assert response.status_code == 429
    assert response.headers["X-RateLimit-Reset"] == "200"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Limit"]) > 0
    assert response.json() == {"detail": "Over throttling limit (10000/hour)"}
    assert client.search().status_code == 200


@pytest.mark.parametrize(("kind", "retryable"), [("fail200", True), ("fail200_fatal", False)])
def test_fail_in_200(sim: Simulator, client: Client, kind: str, retryable: bool) -> None:
    sim.queue_faults([kind])
    response = client.search()
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []
    assert body["fail"][0]["errors"][0]["retryable"] is retryable
    assert body["fail"][0]["key"] == {}


def test_queued_faults_are_served_once_in_order(sim: Simulator, client: Client) -> None:
    sim.queue_faults(["500", "502", "503", "401", "403"])
    statuses = [client.search().status_code for _ in range(6)]
    assert statuses == [500, 502, 503, 401, 403, 200]


def test_ok_in_the_queue_lets_a_request_through(sim: Simulator, client: Client) -> None:
    sim.queue_faults(["ok", "ok", "500"])
    assert [client.search().status_code for _ in range(4)] == [200, 200, 500, 200]


def test_issued_tokens_are_listed_for_leak_checks(sim: Simulator) -> None:
    api = Client(sim.base_url)
    tokens = [api.login(), api.login()]
    assert sim.issued_tokens() == tokens


def test_403_names_the_missing_permission(sim: Simulator, client: Client) -> None:
    sim.queue_faults(["403"])
    error = client.search().json()["fail"][0]["errors"][0]
    assert error["code"] == "forbidden"
    assert "Archive | Search Logs | Read" in error["message"]
    assert error["retryable"] is False


def test_dropped_connection_sends_no_response(sim: Simulator, client: Client) -> None:
    sim.queue_faults(["drop"])
    with pytest.raises(requests.ConnectionError):
        client.search()
    assert client.search().status_code == 200


def test_shape_faults_break_the_page_but_keep_next(sim: Simulator, client: Client) -> None:
    sim.queue_faults(["data_not_list", "logs_null"])
    body = window_body(*day_window(NOW - timedelta(days=1)))
    not_list, logs_null, healthy = (client.search(body).json() for _ in range(3))
    assert not_list["data"] == {"logs": healthy["data"][0]["logs"]}
    assert logs_null["data"] == [{"logs": None}]
    for broken in (not_list, logs_null):
        assert broken["meta"]["pagination"]["next"] == healthy["meta"]["pagination"]["next"]


def test_no_pagination_fault_serves_logs_without_pagination(sim: Simulator, client: Client) -> None:
    sim.queue_faults(["no_pagination"])
    body = window_body(*day_window(NOW - timedelta(days=1)))
    broken, healthy = client.search(body).json(), client.search(body).json()
    assert "pagination" not in broken["meta"]
    assert broken["data"] == healthy["data"]


def test_malformed_json_is_truncated(sim: Simulator, client: Client) -> None:
    sim.queue_faults(["malformed_json"])
    response = client.search()
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_token_endpoint_faults_can_be_queued(sim: Simulator) -> None:
    sim.queue_faults(["429", "401"], endpoint="token")
    api = Client(sim.base_url)
    assert api.request_token().status_code == 429
    assert api.request_token().json()["fail"][0]["code"] == "invalid_client"
    assert api.request_token().status_code == 200


def test_fault_rates_are_reproducible_from_the_seed(make_sim: Callable[..., Simulator]) -> None:
    def outcomes() -> list[str]:
        sim = make_sim(rate_429=0.2, rate_5xx=0.2, rate_fail200=0.2)
        api = Client(sim.base_url)
        api.login()
        replies = [api.search() for _ in range(30)]
        return [f"{r.status_code}{'fail' if r.text.count('retryable') else ''}" for r in replies]

    first = outcomes()
    assert first == outcomes()
    assert {"429", "200", "200fail"} <= set(first)
    assert set(first) & {"500fail", "502", "503fail"}


def test_faults_endpoint_sets_rates_queue_and_token_lifetime(sim: Simulator) -> None:
    settings = {"rates": {"rate_429": 1.0}, "queue": ["403"], "token_lifetime": 5}
    reply = requests.post(f"{sim.base_url}/_sim/faults", json=settings, timeout=5)
    assert reply.status_code == 200
    api = Client(sim.base_url)
    assert api.request_token().json()["expires_in"] == 5
    api.login()
    assert [api.search().status_code for _ in range(2)] == [403, 429]
    requests.post(f"{sim.base_url}/_sim/faults", json={"clear": True}, timeout=5)
    assert api.search().status_code == 200
    bad = requests.post(f"{sim.base_url}/_sim/faults", json={"queue": ["teapot"]}, timeout=5)
    assert bad.status_code == 400


def test_stats_count_requests_statuses_faults_and_records(sim: Simulator, client: Client) -> None:
    sim.queue_faults(["429"])
    client.search()
    served = client.fetch_all(*day_window(NOW - timedelta(days=1)))
    stats = requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()
    assert stats == sim.stats()
    assert stats["token_requests"] == 1
    assert stats["faults_injected"] == {"429": 1}
    assert stats["responses_by_status"]["429"] == 1
    assert stats["records_served"] == len(served)
    assert stats["search_requests"] == stats["responses_by_status"]["200"]


# --- CLI ---------------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ingest.simulator", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_cli_refuses_non_loopback_host(host: str) -> None:
    process = run_cli("--host", host, "--port", "0")
    out, err = process.communicate(timeout=20)
    assert process.returncode == 2
    assert "refusing to listen" in err
    assert "Traceback" not in err
    assert out == ""


def test_cli_prints_one_line_and_exits_cleanly_on_sigterm() -> None:
    process = run_cli("--port", "0", "--seed", "3")
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        match = re.fullmatch(
            r"Mimecast API simulator on (http://127\.0\.0\.1:\d+) — client id sim-client-id, "
            r"client secret sim-client-secret \(demo only\)\n",
            line,
        )
        assert match, line
        api = Client(match.group(1))
        api.login()
        assert api.search().status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert out == ""
    assert err == ""


@pytest.mark.parametrize(
    "doc",
    [
        {"logs": [{"createTime": "2026-11-12T16:22:16+0000", "searchText": "請求書 🔒\n"}]},
        {"logs": [1e16, 3.5, -0.0, float("nan"), float("inf")]},
        {"logs": [2**70, {"nested": [None, True, 42]}]},
        ["Message Tracking Search", 42, None, ("a", 1.5)],
    ],
)
def test_a_reply_body_is_exactly_the_standard_encoders_text(doc):
    import json

    from ingest.simulator.reply import encode_json

    standard = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    assert encode_json(doc) == standard.encode()
