"""A ClickHouse DATABASE_URL is recognised, and refused in one line, without a traceback and
without its password, by what does not run on ClickHouse yet (the dashboard, the API, the
commands other than `run` and `status`: see tests/test_clickhouse_ingest.py for those)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from db.clickhouse.url import NOT_YET
from db.engine import DatabaseSetupError, make_engine
from db.stores import NO_DRIVERS
from tests.support.harness import run_cli
from tests.support.runtime import runtime_python

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


@pytest.mark.parametrize("command", [["reset-cursor", "--yes"], ["status", "--check"]])
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


def test_the_runtime_install_without_the_clickhouse_extra_says_what_to_install(
    tmp_path: Path,
) -> None:
    """RUNTIME_PYTHON has requirements.txt alone: a ClickHouse DATABASE_URL names the extra."""
    probe = subprocess.run([runtime_python(), "-c", "import clickhouse_connect"], check=False)
    if probe.returncode == 0:
        pytest.skip("this runtime Python has the ClickHouse extra installed")
    env = {"DATABASE_URL": f"chdb://{tmp_path / 'clickhouse'}", "DB_PATH": str(tmp_path / "c.db")}
    for command in (["run", "--once"], ["status"]):
        result = run_cli(
            command, {"MIMECAST_CLIENT_ID": "id", "MIMECAST_CLIENT_SECRET": "s", **env}, tmp_path
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [f"error: {NO_DRIVERS}"]
