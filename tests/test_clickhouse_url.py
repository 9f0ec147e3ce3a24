"""A ClickHouse DATABASE_URL is recognised, and refused in one line, without a traceback and
without its password, by what does not run on ClickHouse yet (the dashboard, the API, the
commands other than `run` and `status`: see tests/test_clickhouse_ingest.py for those)."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.clickhouse.url import NOT_YET
from db.engine import DatabaseSetupError, make_engine
from tests.support.harness import run_cli

SECRET = "s3cret-pw"
URLS = [
    "chdb:///var/lib/searchlogs/clickhouse",
    f"clickhousedb://reader:{SECRET}@ch.example.net:8443/searchlogs?secure=true",
    f"clickhousedb+connect://reader:{SECRET}@ch.example.net:8443/searchlogs",
]


@pytest.mark.parametrize("url", URLS)
def test_clickhouse_url_is_refused_with_the_one_line_reason(url: str) -> None:
    with pytest.raises(DatabaseSetupError) as refused:
        make_engine(url)
    assert str(refused.value) == NOT_YET
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize("command", [["detect"], ["reset-cursor", "--yes"], ["status", "--check"]])
def test_commands_not_on_clickhouse_yet_refuse_its_url_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    env = {
        "MIMECAST_CLIENT_ID": "id",
        "MIMECAST_CLIENT_SECRET": "secret",
        "DATABASE_URL": URLS[1],
    }
    result = run_cli(command, env, tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert lines == [f"error: {NOT_YET}"]
    assert "Traceback" not in result.stdout and SECRET not in result.stdout + result.stderr
