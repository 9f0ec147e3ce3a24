"""The simulator serves several Mimecast accounts, each with its own credentials, data and faults.

One token endpoint: the credentials pick the account, and the token reads that account only.
Every test talks HTTP to a real `Simulator` on loopback, under a fixed clock.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import requests

from ingest.simulator import SimConfig, Simulator
from tests.test_simulator import NOW, Client, FakeClock, api_time, day_window, record_at, run_cli

YESTERDAY = day_window(NOW - timedelta(days=1))


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Simulator]]:
    started: list[Simulator] = []

    def make(**overrides: object) -> Simulator:
        settings = {"clock": FakeClock(NOW), "days": 5, **overrides}
        sim = Simulator(SimConfig(**settings))  # type: ignore[arg-type]
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


def client_of(sim: Simulator, account: int) -> Client:
    """A client signed in with the account's credentials."""
    client_id, client_secret = sim.credentials(account)
    api = Client(sim.base_url)
    reply = api.request_token(client_id=client_id, client_secret=client_secret)
    assert reply.status_code == 200, reply.text
    api.token = reply.json()["access_token"]
    return api


def addresses(records: list) -> set[str]:
    return {record["emailAddr"].lower() for record in records}


def test_each_accounts_token_reads_only_its_own_data(make_sim) -> None:
    sim = make_sim(accounts=2)
    moment = NOW - timedelta(hours=3)
    sim.add_events([record_at(moment, who="probe@account2.example.com")], account=2)
    first, second = client_of(sim, 1), client_of(sim, 2)
    served = {1: first.fetch_all(*YESTERDAY), 2: second.fetch_all(*YESTERDAY)}
    probe_window = api_time(moment), api_time(moment)

    assert served[1] == sim.truth(*YESTERDAY, account=1)[0]
    assert served[2] == sim.truth(*YESTERDAY, account=2)[0]
    assert addresses(served[1]) & addresses(served[2]) <= {"<>"}
    assert all(a.split("@")[1].startswith("account2.") for a in addresses(served[2]) - {"<>"})
    assert record_at(moment, who="probe@account2.example.com") in second.fetch_all(*probe_window)
    assert addresses(first.fetch_all(*probe_window)).isdisjoint({"probe@account2.example.com"})


def test_a_token_reads_its_account_whatever_the_request_names(make_sim) -> None:
    sim = make_sim(accounts=2)
    first = client_of(sim, 1)
    body = {
        "meta": {"pagination": {"pageSize": 100}},
        "data": [dict(zip(("start", "end"), YESTERDAY, strict=True))],
    }
    headers = {"Authorization": f"Bearer {first.token}"}
    for path in (
        "/api/archive/get-archive-search-logs?account=2",
        "/api/archive/get-archive-search-logs",
    ):
        reply = requests.post(f"{sim.base_url}{path}", json=body, headers=headers, timeout=5)
        assert reply.json()["data"][0]["logs"] == sim.truth(*YESTERDAY, account=1)[0][:100]


def test_account_one_is_the_single_account_simulator_unchanged(make_sim) -> None:
    alone, among_three = make_sim(), make_sim(accounts=3)
    assert among_three.credentials(1) == ("sim-client-id", "sim-client-secret")
    assert client_of(among_three, 1).fetch_all(*YESTERDAY) == client_of(alone, 1).fetch_all(
        *YESTERDAY
    )
    assert among_three.truth(NOW - timedelta(days=5), NOW, account=1) == alone.truth(
        NOW - timedelta(days=5), NOW
    )


def test_further_accounts_have_their_own_credentials_and_seeded_data(make_sim) -> None:
    first, again = make_sim(accounts=3), make_sim(accounts=3)
    credentials = {first.credentials(n) for n in (1, 2, 3)}
    truths = [first.truth(*YESTERDAY, account=n)[0] for n in (1, 2, 3)]

    assert first.credentials(2) == ("sim-client-id-2", "sim-client-secret-2")
    assert len(credentials) == 3 and len({secret for _, secret in credentials}) == 3
    assert truths[1] != truths[2] and len(truths[1]) > 100
    assert [again.truth(*YESTERDAY, account=n)[0] for n in (1, 2, 3)] == truths
    assert addresses(truths[1]) & addresses(truths[2]) == {"<>"}  # the system sender only


@pytest.mark.parametrize(
    ("client_id", "client_secret"),
    [
        ("sim-client-id", "sim-client-secret-2"),
        ("sim-client-id-2", "sim-client-secret"),
        ("sim-client-id-3", "sim-client-secret-3"),  # an account this simulator lacks
    ],
)
def test_one_accounts_secret_is_refused_with_another_accounts_id(
    make_sim, client_id: str, client_secret: str
) -> None:
    sim = make_sim(accounts=2)
    reply = Client(sim.base_url).request_token(client_id=client_id, client_secret=client_secret)
    assert reply.status_code == 401
    assert reply.json()["fail"][0]["code"] == "invalid_client"


FAULTS = {
    "429 storm": ({"rates": {"rate_429": 1.0}}, "search", {429}),
    "outage": ({"rates": {"rate_5xx": 1.0}}, "search", {500, 502, 503}),
    "rejected credentials": ({"reject_credentials": True}, "token", {401}),
}


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_a_fault_on_one_account_leaves_the_others_answers_unchanged(make_sim, fault: str) -> None:
    settings, endpoint, statuses = FAULTS[fault]
    healthy = make_sim(accounts=2)
    sim = make_sim(accounts=2)
    reply = requests.post(f"{sim.base_url}/_sim/faults?account=2", json=settings, timeout=5)
    assert reply.status_code == 200
    assert requests.get(f"{sim.base_url}/_sim/faults", timeout=5).json()["rates"]["rate_429"] == 0

    first = client_of(sim, 1)
    second = Client(sim.base_url)
    id2, secret2 = sim.credentials(2)
    refused = [second.request_token(client_id=id2, client_secret=secret2) for _ in range(3)]
    if endpoint == "search":
        second.token = refused[0].json()["access_token"]
        refused = [second.search() for _ in range(3)]
    assert {reply.status_code for reply in refused} <= statuses

    assert first.fetch_all(*YESTERDAY) == client_of(healthy, 1).fetch_all(*YESTERDAY)
    assert sim.stats(account=1) == healthy.stats(account=1)
    assert sim.stats(account=1)["faults_injected"] == {}


def test_a_queued_token_fault_waits_for_its_accounts_credentials(make_sim) -> None:
    sim = make_sim(accounts=2)
    sim.queue_faults(["429"], endpoint="token", account=2)
    id2, secret2 = sim.credentials(2)
    api = Client(sim.base_url)
    assert api.request_token().status_code == 200
    assert api.request_token(client_id=id2, client_secret=secret2).status_code == 429
    assert api.request_token(client_id=id2, client_secret=secret2).status_code == 200


def test_rejected_credentials_stay_refused_until_cleared(make_sim) -> None:
    sim = make_sim(accounts=2)
    sim.reject_credentials(account=2)
    id2, secret2 = sim.credentials(2)
    api = Client(sim.base_url)
    refused = [api.request_token(client_id=id2, client_secret=secret2) for _ in range(3)]
    assert [reply.status_code for reply in refused] == [401] * 3
    assert api.request_token().status_code == 200
    sim.clear_faults(account=2)
    assert api.request_token(client_id=id2, client_secret=secret2).status_code == 200


def test_control_endpoints_act_on_the_account_named_and_refuse_others(make_sim) -> None:
    sim = make_sim(accounts=2)
    moment = NOW - timedelta(hours=2)
    added = requests.post(
        f"{sim.base_url}/_sim/events?account=2", json=[record_at(moment, text="two")], timeout=5
    )
    client_of(sim, 2).search()
    window = {"start": api_time(moment), "end": api_time(moment)}
    truth = {
        n: requests.get(
            f"{sim.base_url}/_sim/truth", params={**window, "account": n}, timeout=5
        ).json()
        for n in (1, 2)
    }
    stats = {
        n: requests.get(f"{sim.base_url}/_sim/stats?account={n}", timeout=5).json() for n in (1, 2)
    }

    assert added.json() == {"added": 1}
    assert record_at(moment, text="two") in truth[2]["valid"]
    assert record_at(moment, text="two") not in truth[1]["valid"]
    assert (stats[1]["token_requests"], stats[2]["token_requests"]) == (0, 1)
    assert stats[2]["search_requests"] == 1 and stats[1]["search_requests"] == 0
    for bad in ("3", "0", "two"):
        reply = requests.get(f"{sim.base_url}/_sim/stats?account={bad}", timeout=5)
        assert reply.status_code == 400
        assert reply.json()["error"].startswith("account must be")
    with pytest.raises(ValueError, match=r"account must be within 1\.\.2, not 3"):
        sim.queue_faults(["429"], account=3)


def test_cli_prints_each_accounts_credentials_and_serves_them() -> None:
    process = run_cli("--port", "0", "--accounts", "2", "--days", "3")
    try:
        first = process.stdout.readline()  # type: ignore[union-attr]
        second = process.stdout.readline()  # type: ignore[union-attr]
        url = re.match(r"Mimecast API simulator on (http://127\.0\.0\.1:\d+) — ", first)
        assert url, first
        assert second == (
            "account 2 — client id sim-client-id-2, client secret sim-client-secret-2 (demo only)\n"
        )
        api = Client(url.group(1))
        reply = api.request_token(client_id="sim-client-id-2", client_secret="sim-client-secret-2")
        assert reply.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert (process.returncode, out, err) == (0, "", "")


def test_cli_refuses_zero_accounts_in_one_line() -> None:
    process = run_cli("--port", "0", "--accounts", "0")
    out, err = process.communicate(timeout=20)
    assert (process.returncode, out) == (2, "")
    assert err == "error: accounts must be within 1..1000, not 0\n"
