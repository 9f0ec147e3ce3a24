"""The rules file: defaults when absent, every mistake one line naming the key, exit 2
from the command line; and the days detection cuts in DISPLAY_TZ."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import open_database
from db.models import Alert
from ingest.detect.config import DetectionConfig, DetectionConfigError, load_config
from ingest.detect.runner import detect
from tests.support.detections import load_records
from tests.support.harness import run_cli
from tests.support.tenancy import TENANT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "detections.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_absent_default_file_means_the_built_in_defaults(tmp_path):
    assert load_config(tmp_path / "detections.toml", required=False) == DetectionConfig()


def test_a_rules_file_from_before_tenants_loads_and_says_its_account_is_unused(
    tmp_path, caplog: pytest.LogCaptureFixture
):
    path = write(tmp_path, '[general]\naccount = "acme"\nwarmup_days = 7\n')
    with caplog.at_level("WARNING", logger="ingest.detect"):
        config = load_config(path, required=True)
    assert config.general.warmup_days == 7 and not hasattr(config.general, "account")
    assert caplog.messages == [
        "DETECTIONS_FILE: general.account is no longer used (alerts carry their tenant)"
    ]


def test_a_file_overrides_only_what_it_names(tmp_path):
    path = write(
        tmp_path,
        "[general]\noffice_days = ['Sun', 'mon', 'tue', 'wed', 'thu']\n"
        "allow = ['audit@x.example']\n"
        "[rules.volume_spike]\nmin_ratio = 6\n[rules.missing_reason]\nenabled = true\n",
    )
    config = load_config(path, required=True)
    assert config.rules.volume_spike.min_ratio == 6.0
    assert config.rules.volume_spike.min_searches == 30
    assert config.rules.missing_reason.enabled
    assert config.general.office_days == ("sun", "mon", "tue", "wed", "thu")
    assert config.allowed("Audit@X.example", ())
    assert config.is_system("<>") and config.is_system("api-1234@x.example")
    assert not config.is_system("ann@x.example")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[rules.volume_spike]\nmin_ratoi = 3\n",
            "rules.volume_spike.min_ratoi is not a known key",
        ),
        ("[rules.spikes]\nenabled = true\n", "[rules.spikes] is not a known rule"),
        (
            "[rules.breadth]\nmin_new_targets = 'ten'\n",
            "rules.breadth.min_new_targets must be a whole",
        ),
        (
            "[rules.sensitive_terms]\nterms = 'salary'\n",
            "rules.sensitive_terms.terms must be a list",
        ),
        ("[general]\noffice_start = 18\noffice_end = 8\n", "general.office_start and office_end"),
        ("[general]\noffice_days = ['Funday']\n", "general.office_days must name days"),
        ("[rules.volume_spike\nmin_ratio = 3\n", "is not valid TOML"),
        ("[alerts]\nx = 1\n", "[alerts] is not a known section"),
    ],
)
def test_a_mistake_is_one_line_naming_the_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(DetectionConfigError) as caught:
        load_config(path, required=True)
    message = str(caught.value)
    assert message.startswith(f"DETECTIONS_FILE {path}")
    assert expected in message and "\n" not in message


def test_detect_with_a_bad_rules_file_exits_2_with_one_line(tmp_path):
    path = write(tmp_path, "[rules.volume_spike]\nmin_ratio = -1\n")
    env = {"DB_PATH": str(tmp_path / "db.sqlite"), "DETECTIONS_FILE": str(path)}
    result = run_cli(["detect"], env, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: DETECTIONS_FILE {path}: rules.volume_spike.min_ratio must be a number, "
        "0 or more, got -1"
    ]
    assert not (tmp_path / "db.sqlite").exists(), "nothing is opened with a bad rules file"


def test_run_with_a_missing_rules_file_it_was_pointed_at_exits_2(tmp_path):
    env = {
        "DB_PATH": str(tmp_path / "db.sqlite"),
        "DETECTIONS_FILE": str(tmp_path / "nope.toml"),
        "MIMECAST_CLIENT_ID": "x",
        "MIMECAST_CLIENT_SECRET": "y",
    }
    result = run_cli(["run", "--once"], env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: DETECTIONS_FILE {tmp_path / 'nope.toml'} does not exist: create it or unset "
        "DETECTIONS_FILE"
    ]


def test_detect_on_an_empty_database_says_there_is_nothing_to_score(tmp_path):
    env = {"DB_PATH": str(tmp_path / "db.sqlite")}  # no detections.toml here: the defaults
    result = run_cli(["detect"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "detect default: nothing to score (no searches stored yet)"


# --- days in DISPLAY_TZ ----------------------------------------------------------------


def _record(moment: datetime, email: str) -> dict[str, object]:
    return {
        "createTime": moment.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "emailAddr": email,
        "source": "archive",
        "searchText": "",
        "description": "Archive Search",
    }


def _late_evening_newcomer() -> tuple[list[dict[str, object]], datetime]:
    """A regular who searches every day at noon UTC for 40 days, and a never-seen address
    that searches 30 times between 19:00 and 20:00 UTC on 2026-06-09 (summer)."""
    first = datetime(2026, 5, 1, 12, tzinfo=UTC)
    records = [
        _record(first + timedelta(days=d, minutes=m), "reg@x.example")
        for d in range(45)
        for m in range(3)
    ]
    burst = datetime(2026, 6, 9, 19, tzinfo=UTC)
    records += [_record(burst + timedelta(minutes=2 * n), "new@x.example") for n in range(30)]
    records.sort(key=lambda record: str(record["createTime"]))
    return records, datetime(2026, 6, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "day"),
    [
        ("UTC", date(2026, 6, 9)),
        ("Europe/Berlin", date(2026, 6, 9)),  # 21:00-22:00 local, same day
        ("Asia/Tokyo", date(2026, 6, 10)),  # 04:00-05:00 the next local day
        ("Asia/Kolkata", date(2026, 6, 10)),  # 00:30-01:30: a half-hour zone, from raw rows
        ("America/New_York", date(2026, 6, 9)),  # 15:00-16:00 EDT
    ],
)
def test_days_are_cut_in_display_tz(tmp_path, tz, day):
    records, end = _late_evening_newcomer()
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        load_records(engine, records, end)
        detect(engine, TENANT, tz, DetectionConfig())
        with engine.connect() as conn:
            found = conn.execute(select(Alert.rule, Alert.day, Alert.evidence_url)).all()
    finally:
        engine.dispose()
    assert [(rule, alert_day) for rule, alert_day, _ in found] == [("dormant_searcher", day)]
    assert found[0][2] == f"/user?email=new%40x.example&from={day}&to={day}"
