"""LOG_FORMAT=json: every line the ingest writes to stderr, and every line of the dashboard's
and the API's own loggers, is one JSON object with time, level, logger and message, plus the
tenant and run id where the line belongs to one; secrets never appear.

Child processes from RUNTIME_PYTHON, their stderr read line by line; the ingest polls a
simulator serving two accounts whose data differ (one address in both).
"""

from __future__ import annotations

import json
from datetime import datetime

import requests

from tests.support.deployment import dashboard
from tests.support.harness import run_cli
from tests.support.truth import runs
from tests.test_ingest_tenants import (  # noqa: F401 (two_accounts is a fixture)
    ACCOUNTS,
    assert_stored_completely,
    tenants_env,
    two_accounts,
)

FIELDS = {"time", "level", "logger", "message"}


def json_lines(text: str) -> list[dict]:
    """Every line parsed; fails on the first line that is not one JSON object."""
    parsed = []
    for line in text.splitlines():
        entry = json.loads(line)
        assert isinstance(entry, dict) and set(entry) >= FIELDS, line
        assert datetime.fromisoformat(entry["time"]).utcoffset() is not None, line
        parsed.append(entry)
    return parsed


def test_every_ingest_line_is_a_json_object_naming_its_tenant_and_run(
    two_accounts,  # noqa: F811
    tmp_path,
):
    db_url = f"sqlite:///{tmp_path / 'data' / 'searchlogs.db'}"
    env = {**tenants_env(two_accounts, tmp_path, db_url), "LOG_FORMAT": "json"}
    secrets = [env[f"{name.upper()}_SECRET"] for name in ACCOUNTS]

    done = run_cli(["run", "--once"], env, tmp_path)

    assert done.returncode == 0, done.stderr
    lines = json_lines(done.stderr)
    for tenant in ACCOUNTS:
        assert_stored_completely(two_accounts, db_url, tenant)
        [run] = [run for run in runs(db_url) if run.tenant == tenant]
        own = [line for line in lines if line.get("tenant") == tenant]
        assert own and all(line["level"] == "INFO" for line in own)
        summaries = [line for line in own if "backfill done" in line["message"]]
        assert [line["run_id"] for line in summaries] == [run.id], own
        chunks = [
            line for line in own if line["message"].startswith(f"tenant {tenant!r}: backfill ")
        ]
        assert chunks and {line.get("run_id") for line in chunks} == {run.id}
    assert not any(secret in done.stderr + done.stdout for secret in secrets)


def test_a_refused_setting_is_one_json_line_with_exit_2(tmp_path):
    env = {"LOG_FORMAT": "json", "POLL_SECONDS": "0", "DB_PATH": str(tmp_path / "s.db")}

    done = run_cli(["status"], env, tmp_path)

    assert done.returncode == 2
    [line] = json_lines(done.stderr)
    assert (line["level"], line["logger"]) == ("ERROR", "ingest")
    assert line["message"] == "error: POLL_SECONDS must be at least 1 (at most 604800), got 0"


def test_an_unknown_log_format_is_refused_in_one_line(tmp_path):
    env = {"LOG_FORMAT": "xml", "DB_PATH": str(tmp_path / "s.db")}

    done = run_cli(["status"], env, tmp_path)

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: LOG_FORMAT must be text or json, got 3 characters of other text"
    ]


def test_the_dashboards_own_lines_are_json_and_hold_no_secret(tmp_path):
    """An invalid setting makes the API log its one configuration line: a JSON object of
    the `api` logger; the client secret and the metrics token are nowhere in the output."""
    token = tmp_path / "metrics_token"
    token.write_text("metrics-token-in-a-file\n")
    env = {
        "LOG_FORMAT": "json",
        "DB_PATH": str(tmp_path / "s.db"),
        "MIMECAST_CLIENT_SECRET": "client-secret-value",
        "METRICS_TOKEN_FILE": str(token),
        "DISPLAY_TZ": "Mars/Olympus",
    }
    with dashboard(env, tmp_path) as app:
        auth = {"Authorization": "Bearer metrics-token-in-a-file"}
        reply = requests.get(f"{app.url}/healthz", headers=auth, timeout=30)
        assert reply.status_code == 503, reply.text
    output = app.stderr.read_text()

    ours = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    json_lines("\n".join(json.dumps(line) for line in ours))
    expected = (
        "configuration error: DISPLAY_TZ must be an IANA time zone such as UTC or "
        "Europe/London, got 'Mars/Olympus'"
    )
    assert [(line["logger"], line["level"], line["message"]) for line in ours] == [
        ("api", "ERROR", expected)
    ]
    assert "client-secret-value" not in output and "metrics-token-in-a-file" not in output
