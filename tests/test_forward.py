"""Forwarding: exactly the stored searches reach every receiver, through outages, with
repeats only where docs/forwarding.md says they can happen (a crash or a lost acknowledgement
between a receiver's ack and the cursor's commit, limited to that one batch)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from config.settings import ConfigError, Settings
from db.engine import open_database
from db.models import ForwardDeadLetter, SearchLog
from db.state.forwarding import forwarding_status, recent_dead_letters
from ingest.forward import delivery
from ingest.forward.config import ForwardConfig, destination_from, load_forward_config
from ingest.forward.messages import HorizonBusy, SearchSource
from ingest.forward.runner import forward_pending
from tests.support.forward_receivers import HttpsReceiver, ReceiverCA, free_port, make_ca
from tests.support.forwarding import forward
from tests.support.harness import make_settings, run_cli
from tests.support.runtime import PROJECT_ROOT, runtime_python, subprocess_env
from tests.support.tenancy import SCOPE, TENANT


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "BACKOFF_INITIAL", 0.02)
    monkeypatch.setattr(delivery, "BACKOFF_MAX", 0.2)
    monkeypatch.setattr(delivery, "BACKOFF_JITTER", 0.02)


def stored_keys(settings: Settings) -> list[str]:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(SearchLog.event_key).order_by(SearchLog.id)).scalars())
    finally:
        engine.dispose()


def https(receiver: HttpsReceiver, ca: ReceiverCA, **extra: Any) -> dict[str, Any]:
    return {"name": "collector", "url": receiver.url, "ca_file": str(ca.ca_file), **extra}


def ids(receiver: HttpsReceiver) -> list[str]:
    """The stable ids the receiver got, in arrival order (NDJSON ECS documents)."""
    return [doc["event"]["id"] for doc in receiver.documents]


# --- configuration -----------------------------------------------------------------------


def settings_with(settings: Settings, **changes: Any) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"name": "x", "url": "ftp://h/p"}, "url must start with file://"),
        ({"name": "x", "url": "syslog+tls://h"}, "needs a port"),
        ({"name": "x", "url": "file:///tmp/a", "format": "xml"}, "format must be one of"),
        ({"name": "x", "url": "https://h/p", "protocol": "hec"}, "needs the collector's token"),
        ({"name": "x", "url": "https://h/p", "token_env": "NOPE_UNSET"}, "NOPE_UNSET"),
        ({"name": "x", "url": "file:///tmp/a", "source": "logins"}, "source must be one of"),
        ({"name": "x", "url": "file:///tmp/a", "batch_size": 0}, "batch_size"),
        ({"name": "x", "url": "file:///tmp/a", "colour": "red"}, "unknown setting 'colour'"),
        ({"url": "file:///tmp/a"}, "needs a name"),
        ({"name": "x", "url": "https://h/p", "since": "yesterday"}, "since must be an ISO"),
    ],
)
def test_a_bad_destination_is_one_line_naming_it(table: dict[str, Any], message: str):
    with pytest.raises(ConfigError) as raised:
        destination_from(table, {}, 1)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_bad_entry_stops_forward_and_run_at_start_with_exit_2_and_no_secret(
    tmp_path: Path, sim_url: str
):
    secret_url = "https://hooks.example.com/services/T000/B000/SECRETSECRET"
    config = tmp_path / "forward.toml"
    config.write_text(
        f'[[destination]]\nname = "chat"\nurl = "{secret_url}"\nformat = "slack"\n'
        '[[destination]]\nname = "chat"\nurl = "file:///tmp/x"\n'
    )
    env = {"DB_PATH": str(tmp_path / "db.sqlite"), "FORWARD_CONFIG": str(config),
           "MIMECAST_CLIENT_ID": "id", "MIMECAST_CLIENT_SECRET": "s",
           "MIMECAST_BASE_URL": sim_url}  # fmt: skip
    for command in (["forward"], ["run", "--once"]):
        done = run_cli(command, env, tmp_path)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "forwarding destination 'chat'" in lines[0]
        assert "SECRET" not in done.stderr + done.stdout
    bad_url = {"DB_PATH": str(tmp_path / "db.sqlite"), "FORWARD_URL": "gopher://x/SECRET"}
    done = run_cli(["forward"], bad_url, tmp_path)
    assert done.returncode == 2
    assert "FORWARD_URL must start with" in done.stderr and "SECRET" not in done.stderr


def test_forward_with_nothing_configured_is_a_configuration_error(tmp_path: Path):
    done = run_cli(["forward"], {"DB_PATH": str(tmp_path / "db.sqlite")}, tmp_path)
    assert done.returncode == 2
    assert "set FORWARD_URL" in done.stderr


def test_forward_url_with_token_is_a_splunk_hec_destination(settings: Settings):
    config = load_forward_config(
        settings_with(
            settings,
            forward_url="https://splunk:8088/services/collector/event",
            forward_token="tok",
            forward_format="ecs",
        ),
        {},
    )
    assert config is not None
    (destination,) = config.destinations
    assert (destination.name, destination.protocol, destination.token) == ("default", "hec", "tok")
    assert "tok" not in repr(destination) and "collector" not in destination.where


# --- the main path: the real ingest, then the CLI, into a file ---------------------------


def test_forward_delivers_exactly_the_stored_searches_to_a_file_and_then_nothing(
    stored: Settings, tmp_path: Path
):
    out = tmp_path / "out" / "searches.ndjson"
    env = {"DB_PATH": str(stored.db_path), "FORWARD_URL": f"file://{out}"}
    done = run_cli(["forward"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["event"]["id"] for d in docs] == stored_keys(stored)
    again = run_cli(["forward"], env, tmp_path)
    assert again.returncode == 0
    assert len(out.read_text().splitlines()) == len(docs)  # nothing sent twice
    text_status = run_cli(["status"], env, tmp_path).stdout
    assert f"forwarding       default: {len(docs):,} delivered, last 20" in text_status
    assert "lag 0 (0 s); 0 parked" in text_status
    status = run_cli(["status", "--json"], env, tmp_path)
    (row,) = json.loads(status.stdout)["forwarding"]
    assert (row["destination"], row["delivered"], row["lag_messages"], row["parked"]) == (
        "default", len(docs), 0, 0,
    )  # fmt: skip


def test_scheduled_run_forwards_after_its_cycle(sim_url: str, tmp_path: Path):
    out = tmp_path / "searches.cef"
    env = {"DB_PATH": str(tmp_path / "db.sqlite"), "MIMECAST_CLIENT_ID": "sim-client-id",
           "MIMECAST_CLIENT_SECRET": "sim-client-secret", "MIMECAST_BASE_URL": sim_url,
           "INITIAL_BACKFILL_DAYS": "3", "FORWARD_URL": f"file://{out}",
           "FORWARD_FORMAT": "cef"}  # fmt: skip
    done = run_cli(["run", "--once"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    settings = make_settings(sim_url, tmp_path / "db.sqlite")
    assert len(lines) == len(stored_keys(settings)) > 0
    assert all(line.startswith("CEF:0|Mimecast|") for line in lines)


def test_since_makes_a_new_destination_skip_older_searches(stored: Settings, tmp_path: Path):
    engine = create_engine(stored.effective_database_url)
    with engine.connect() as conn:
        times = sorted(conn.execute(select(SearchLog.create_time)).scalars())
    engine.dispose()
    cut = times[len(times) // 2]
    out = tmp_path / "late.ndjson"
    (result,) = forward(stored, {"name": "late", "url": f"file://{out}"}, since=cut)
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    assert result.delivered == len(docs) == sum(1 for t in times if t >= cut)


def test_file_rotates_between_batches_and_keeps_every_line(stored: Settings, tmp_path: Path):
    out = tmp_path / "rot.ndjson"
    forward(stored, {"name": "r", "url": f"file://{out}", "rotate_bytes": 20_000,
                     "keep": 1000, "batch_size": 50})  # fmt: skip
    files = sorted(tmp_path.glob("rot.ndjson*"))
    assert len(files) > 3
    lines = [line for f in files for line in f.read_text().splitlines()]
    assert sorted(json.loads(line)["event"]["id"] for line in lines) == sorted(stored_keys(stored))


def test_a_line_cut_short_by_a_crash_is_dropped_before_appending(stored: Settings, tmp_path: Path):
    out = tmp_path / "cut.ndjson"
    out.write_bytes(b'{"complete": true}\n{"cut sho')
    forward(stored, {"name": "c", "url": f"file://{out}", "batch_size": 10})
    lines = out.read_text().splitlines()
    assert lines[0] == '{"complete": true}'
    assert all(json.loads(line) for line in lines)


# --- HTTPS: NDJSON and HEC, real TLS on loopback -----------------------------------------


def test_https_ndjson_gzip_and_hec_receive_exactly_the_stored_searches(
    stored: Settings, ca: ReceiverCA
):
    with HttpsReceiver(ca) as ndjson, HttpsReceiver(ca) as hec:
        results = forward(
            stored,
            https(ndjson, ca, name="ndjson", gzip=True, batch_size=200),
            https(hec, ca, name="hec", protocol="hec", token="hec-token", batch_size=300),
        )
    keys = stored_keys(stored)
    assert [r.error for r in results] == [None, None]
    assert [d["event"]["id"] for d in ndjson.documents] == keys
    assert ndjson.requests[0]["headers"]["Content-Encoding"] == "gzip"
    assert [d["event"]["event"]["id"] for d in hec.documents] == keys
    assert {d["sourcetype"] for d in hec.documents} == {"mimecast:archive:search"}
    assert hec.requests[0]["headers"]["Authorization"] == "Splunk hec-token"
    first = hec.documents[0]
    assert first["time"] == pytest.approx(
        datetime.fromisoformat(first["event"]["@timestamp"]).timestamp()
    )


@pytest.mark.slow
def test_a_receiver_stopped_mid_stream_gets_the_rest_in_order_when_it_returns(
    stored: Settings, ca: ReceiverCA, fast_backoff: None
):
    receiver = HttpsReceiver(ca)
    restarted = threading.Event()

    def script(number: int, body: bytes):
        if number == 3:  # the receiver goes away with this batch unread
            threading.Thread(target=outage, daemon=True).start()
            return "drop"
        return (200, {})

    def outage() -> None:
        receiver.stop()
        time.sleep(1.0)
        receiver.start()
        restarted.set()

    receiver.script = script
    receiver.start()
    try:
        (result,) = forward(stored, https(receiver, ca, batch_size=100))
    finally:
        receiver.stop()
    assert restarted.is_set() and result.error is None
    assert ids(receiver) == stored_keys(stored)  # all, once, in order


@pytest.mark.slow
def test_a_429_storm_is_waited_out_honouring_retry_after(
    stored: Settings, ca: ReceiverCA, fast_backoff: None
):
    arrivals: list[float] = []

    def script(number: int, body: bytes):
        arrivals.append(time.monotonic())
        if 2 <= number <= 12:
            return (429, {"Retry-After": "1" if number == 2 else "0"})
        return (200, {})

    with HttpsReceiver(ca, script=script) as receiver:
        (result,) = forward(stored, https(receiver, ca, batch_size=200))
    assert result.error is None
    assert arrivals[2] - arrivals[1] >= 1.0  # waited the Retry-After of the first 429
    assert ids(receiver) == stored_keys(stored)


def test_an_ack_lost_after_the_receiver_stored_the_batch_repeats_that_batch_only(
    stored: Settings, ca: ReceiverCA, fast_backoff: None
):
    dropped: list[bytes] = []

    def script(number: int, body: bytes):
        if number == 2:
            dropped.append(body)
            return "store-and-drop"
        return (200, {})

    with HttpsReceiver(ca, script=script) as receiver:
        (result,) = forward(stored, https(receiver, ca, batch_size=100))
    assert result.error is None
    received = Counter(ids(receiver))
    assert set(received) == set(stored_keys(stored))
    repeats = {key for key, count in received.items() if count > 1}
    assert repeats == {json.loads(line)["event"]["id"] for line in dropped[0].splitlines()}
    assert all(count <= 2 for count in received.values())


def test_a_message_rejected_as_malformed_is_parked_and_the_rest_delivered(
    stored: Settings, ca: ReceiverCA
):
    keys = stored_keys(stored)
    poison = {keys[17], keys[250]}

    def script(number: int, body: bytes):
        if any(key.encode() in body for key in poison):
            return (400, {})
        return (200, {})

    with HttpsReceiver(ca, script=script) as receiver:
        (result,) = forward(stored, https(receiver, ca, batch_size=100))
    assert result.error is None and result.parked == 2
    assert ids(receiver) == [key for key in keys if key not in poison]
    engine = create_engine(stored.effective_database_url)
    with engine.connect() as conn:
        parked = conn.execute(select(ForwardDeadLetter.message_id, ForwardDeadLetter.reason))
        assert {row.message_id for row in parked} == poison
    (row,) = forwarding_status(engine, SCOPE)
    assert (row["parked"], row["lag_messages"], row["delivered"]) == (2, 0, len(keys) - 2)
    assert recent_dead_letters(engine, SCOPE)[0]["reason"].startswith("HTTP 400")
    engine.dispose()


def test_a_refused_token_is_recorded_and_the_cursor_stays(stored: Settings, ca: ReceiverCA):
    with HttpsReceiver(ca, script=lambda n, b: (403, {})) as receiver:
        (result,) = forward(stored, https(receiver, ca, protocol="hec", token="wrong"))
    assert "HTTP 403" in result.error and result.delivered == 0
    engine = create_engine(stored.effective_database_url)
    (row,) = forwarding_status(engine, SCOPE)
    engine.dispose()
    assert row["position"] == 0 and "HTTP 403" in row["last_error"]
    assert row["lag_messages"] == len(stored_keys(stored))


def test_an_unknown_ca_is_refused_not_sent(stored: Settings, ca: ReceiverCA, tmp_path: Path):
    other = make_ca(tmp_path / "other")
    with HttpsReceiver(ca) as receiver:
        (result,) = forward(stored, https(receiver, other))
    assert "TLS verification failed" in result.error
    assert receiver.documents == []


@pytest.mark.slow
def test_forwarder_sigkilled_between_send_and_commit_repeats_only_that_batch(
    stored: Settings, ca: ReceiverCA, tmp_path: Path
):
    config = tmp_path / "forward.toml"
    config.write_text(
        f'[[destination]]\nname = "siem"\nurl = "__URL__"\nca_file = "{ca.ca_file}"\n'
        "batch_size = 100\n"
    )
    child: dict[str, subprocess.Popen[str]] = {}
    killed: list[bytes] = []

    def script(number: int, body: bytes):
        if number == 4:  # stored by the receiver, then the forwarder dies before its commit
            killed.append(body)
            os.kill(child["p"].pid, signal.SIGKILL)
            return "store-and-drop"
        return (200, {})

    with HttpsReceiver(ca, script=script) as receiver:
        config.write_text(config.read_text().replace("__URL__", receiver.url))
        env = subprocess_env({"DB_PATH": str(stored.db_path), "FORWARD_CONFIG": str(config)})
        child["p"] = subprocess.Popen(
            [runtime_python(), "-m", "ingest", "forward"], env=env, cwd=PROJECT_ROOT, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        child["p"].communicate(timeout=60)
        assert child["p"].returncode == -signal.SIGKILL
        done = run_cli(["forward"], {"DB_PATH": str(stored.db_path),
                                     "FORWARD_CONFIG": str(config)}, tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
    received = Counter(ids(receiver))
    assert set(received) == set(stored_keys(stored))
    repeats = {key for key, count in received.items() if count > 1}
    assert repeats == {json.loads(line)["event"]["id"] for line in killed[0].splitlines()}
    assert max(received.values()) == 2


# --- PostgreSQL: ids that commit out of order --------------------------------------------


def _insert(conn: Any, key: str) -> None:
    conn.execute(
        text(
            "INSERT INTO search_logs (tenant, event_key, create_time, email_addr, raw_json, "
            "ingested_at) VALUES ('default', :k, now(), 'a@example.com', '{}', now())"
        ),
        {"k": key},
    )


@pytest.mark.postgres
def test_postgres_never_forwards_past_a_transaction_still_in_flight(tmp_path: Path):
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL")
    from tests.support.backends import fresh_postgres_database

    url = fresh_postgres_database(server, "t_forward_horizon")
    engine = open_database(url)
    out = tmp_path / "pg.ndjson"
    table = {"name": "pg", "url": f"file://{out}"}
    config = ForwardConfig((destination_from(table, {}, 1),))
    try:
        slow, fast = engine.connect(), engine.connect()
        slow_tx = slow.begin()
        _insert(slow, "first-id-commits-last")  # takes the lower id, commits later
        with fast.begin():
            _insert(fast, "second-id-commits-first")
        with engine.connect() as conn, pytest.raises(HorizonBusy):
            SearchSource(TENANT).horizon(conn)
        (result,) = forward_pending(engine, config, max_seconds=1)
        assert result.delivered == 0 and "the ingest is writing" in result.error
        slow_tx.commit()
        (result,) = forward_pending(engine, config, max_seconds=10)
        assert result.delivered == 2
        sent = [json.loads(line)["event"]["id"] for line in out.read_text().splitlines()]
        assert sent == ["first-id-commits-last", "second-id-commits-first"]
        slow.close()
        fast.close()
    finally:
        engine.dispose()


def test_sqlite_horizon_is_the_largest_committed_id(stored: Settings):
    engine = create_engine(stored.effective_database_url)
    with engine.connect() as conn:
        assert SearchSource(TENANT).horizon(conn) == len(stored_keys(stored))
    engine.dispose()


# --- the scheduled loop never waits long; secrets stay out of the logs ------------------


@pytest.mark.slow
def test_run_once_with_a_receiver_down_is_time_boxed_and_records_the_error(
    sim_url: str, tmp_path: Path
):
    config = tmp_path / "forward.toml"
    config.write_text(
        "[forward]\nmax_seconds = 2\n"
        f'[[destination]]\nname = "down"\nurl = "https://127.0.0.1:{free_port()}/x"\n'
    )
    env = {"DB_PATH": str(tmp_path / "db.sqlite"), "MIMECAST_CLIENT_ID": "sim-client-id",
           "MIMECAST_CLIENT_SECRET": "sim-client-secret", "MIMECAST_BASE_URL": sim_url,
           "INITIAL_BACKFILL_DAYS": "2", "FORWARD_CONFIG": str(config)}  # fmt: skip
    started = time.monotonic()
    done = run_cli(["run", "--once"], env, tmp_path)
    assert done.returncode == 0, done.stderr  # the cycle succeeded; forwarding waits
    assert time.monotonic() - started < 20
    assert "forward default → down (https://127.0.0.1:" in done.stderr and "failed" in done.stderr
    status = json.loads(run_cli(["status", "--json"], env, tmp_path).stdout)
    (row,) = status["forwarding"]
    assert row["position"] == 0 and row["last_error"] and row["lag_messages"] > 0


def test_tokens_and_url_paths_never_reach_the_log_even_in_debug(
    stored: Settings, ca: ReceiverCA, tmp_path: Path
):
    secret_path = "/services/collector/SECRETPATH?key=SECRETQUERY"
    with HttpsReceiver(ca, script=lambda n, b: (403, {})) as receiver:
        config = tmp_path / "forward.toml"
        config.write_text(
            f'[[destination]]\nname = "hec"\nurl = "{receiver.url}{secret_path}"\n'
            f'protocol = "hec"\ntoken_env = "HEC_TOKEN"\nca_file = "{ca.ca_file}"\n'
        )
        env = {"DB_PATH": str(stored.db_path), "FORWARD_CONFIG": str(config),
               "HEC_TOKEN": "SECRETTOKEN"}  # fmt: skip
        done = run_cli(["-v", "forward"], env, tmp_path)
        status = run_cli(["status", "--json"], env, tmp_path)
    assert done.returncode == 1
    assert receiver.requests[0]["headers"]["Authorization"] == "Splunk SECRETTOKEN"
    output = done.stdout + done.stderr + status.stdout + status.stderr
    assert "HTTP 403" in output
    assert "SECRET" not in output


def test_alert_webhooks_post_one_signed_message_per_alert(ca: ReceiverCA):
    """The chat transports, ready for the alerts source: one POST per alert; the generic
    webhook's signature verifies with the shared key."""
    from ingest.forward.config import Destination
    from ingest.forward.delivery import encoder_for
    from ingest.forward.messages import Message
    from ingest.forward.notify import verify
    from ingest.forward.transports import Outgoing, open_transport
    from tests.support.chat_schemas import SLACK_SCHEMA
    from tests.support.forwarding import alert

    alerts = [alert(id="a-1"), alert(id="a-2", summary="<!here> second")]
    received: dict[str, list[dict[str, Any]]] = {}
    for fmt, kind in (("webhook", "collector"), ("slack", "slack")):
        with HttpsReceiver(ca, kind=kind) as receiver:
            destination = Destination(
                name=fmt, scheme="https", url=receiver.url, format=fmt, source="alerts",
                secret=b"k3y", ca_file=str(ca.ca_file),
            )  # fmt: skip
            transport = open_transport(destination)
            encode = encoder_for(destination)
            transport.send([Outgoing(Message(i, a.id, a), encode(a)) for i, a in enumerate(alerts)])
            transport.close()
        received[fmt] = receiver.requests
    webhook, slack = received["webhook"], received["slack"]
    assert [json.loads(r["body"])["event"]["id"] for r in webhook] == ["a-1", "a-2"]
    now = int(time.time())
    assert all(verify(b"k3y", r["body"], r["headers"], now) for r in webhook)
    assert not verify(b"other", webhook[0]["body"], webhook[0]["headers"], now)
    import jsonschema

    for request in slack:
        jsonschema.validate(json.loads(request["body"]), SLACK_SCHEMA)
    second = json.loads(slack[1]["body"])
    assert second["text"].endswith("&lt;!here&gt; second")  # escaped where Slack parses
    assert second["blocks"][1]["text"] == {"type": "plain_text", "text": "<!here> second"}


def test_a_message_that_cannot_be_encoded_is_parked_not_stuck(
    stored: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    keys = stored_keys(stored)
    real = delivery.ENCODERS["ecs"]

    def fussy(item: Any) -> bytes:
        if item.key == keys[3]:
            raise ValueError("str is not valid UTF-8: surrogates not allowed")
        return real(item)

    monkeypatch.setitem(delivery.ENCODERS, "ecs", fussy)
    out = tmp_path / "out.ndjson"
    (result,) = forward(stored, {"name": "f", "url": f"file://{out}"})
    sent = [json.loads(line)["event"]["id"] for line in out.read_text().splitlines()]
    assert sent == keys[:3] + keys[4:] and result.parked == 1
    engine = create_engine(stored.effective_database_url)
    (dead,) = recent_dead_letters(engine, SCOPE)
    engine.dispose()
    assert dead["message_id"] == keys[3] and dead["reason"].startswith("cannot encode")


def _octet_counted(data: bytes) -> list[bytes]:
    """RFC 5425/6587 frames `LEN SP MSG` back into messages."""
    frames, index = [], 0
    while index < len(data):
        space = data.index(b" ", index)
        length = int(data[index:space])
        frames.append(data[space + 1 : space + 1 + length])
        index = space + 1 + length
    return frames


def test_syslog_tcp_frames_by_octet_count_and_udp_one_datagram_each(
    stored: Settings, tmp_path: Path
):
    import socket

    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(5)
    received: list[bytes] = []

    def serve_tcp() -> None:  # a relay: read each connection to its end, then close
        tcp.settimeout(10)
        while True:
            try:
                conn, _ = tcp.accept()
            except OSError:
                return
            with conn:
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
                received.extend(_octet_counted(data))

    threading.Thread(target=serve_tcp, daemon=True).start()
    keys = stored_keys(stored)
    (tcp_result,) = forward(
        stored,
        {"name": "tcp", "url": f"syslog+tcp://127.0.0.1:{tcp.getsockname()[1]}", "format": "cef",
         "hostname": "ingest-host", "batch_size": 300},
    )  # fmt: skip
    tcp.close()
    assert tcp_result.error is None
    assert len(received) == len(keys)
    first = received[0].decode()
    assert first.startswith("<134>1 ") and " ingest-host mimecast-search - search - CEF:0|" in first
    from tests.support.cef import parse_cef

    assert [parse_cef(m.decode().split(" - search - ", 1)[1])[1]["externalId"]
            for m in received] == keys  # fmt: skip
    datagrams: list[bytes] = []
    (udp_result,) = forward(
        stored,
        {"name": "udp", "url": f"syslog+udp://127.0.0.1:{udp.getsockname()[1]}",
         "format": "ocsf", "batch_size": 50},
    )  # fmt: skip
    assert udp_result.error is None and udp_result.delivered == len(keys)
    while len(datagrams) < 20:  # loopback UDP: the first ones are certainly buffered
        datagrams.append(udp.recv(70000))
    udp.close()
    body = datagrams[0].split(b" - search - ", 1)[1]
    assert json.loads(body)["metadata"]["uid"] == keys[0]
