"""bench/detections.py's matching rules on tiny hand-made cases (alerts -> recall and
false-alert counts), and its held-out seeds, which are drawn at run time and never
printed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import bench.detections as harness
from bench.detgen.score import Fired, Planted, Window, size_bin, tally

D = date(2026, 9, 7)  # a Monday
SHARED = "kim@shared.example"  # an address in both tenants


def day(n: int) -> date:
    return date.fromordinal(D.toordinal() + n)


PLANTED = [
    Planted("acme", SHARED, D, day(2), "slow_breadth", 0.5),
    Planted("acme", "lee@acme.example", day(10), day(10), "off_hours", 1.0),
]
WINDOWS = [
    Window("acme", "weekly_report", ("ann@acme.example",), D, day(28)),
    Window("acme", "busy_tenant_day", ("*",), day(20), day(20)),
]
ACTIVE = [
    ("acme", SHARED, D),
    ("acme", "ann@acme.example", D),
    ("acme", "ann@acme.example", day(7)),
    ("acme", "ann@acme.example", day(20)),
    ("acme", "lee@acme.example", day(20)),
    ("globex", SHARED, D),
]


def test_any_rule_from_the_first_day_to_three_days_after_the_last_detects_an_incident() -> None:
    fired = [Fired("acme", "KIM@shared.example", day(5), "volume_spike")]  # last + 3
    result = tally(PLANTED, WINDOWS, fired, ACTIVE)
    assert result.found[("slow_breadth", "0.5x")] == 1
    assert result.found[("off_hours", "1x")] == 0
    assert result.planted.total() == 2 and result.found.total() == 1
    assert result.false_by_rule.total() == 0
    assert len(result.missed) == 1 and "lee@acme.example" in result.missed[0]


def test_an_alert_four_days_after_an_incident_is_false() -> None:
    result = tally(PLANTED, WINDOWS, [Fired("acme", SHARED, day(6), "breadth")], ACTIVE)
    assert result.found.total() == 0
    assert result.false_by_rule == {"breadth": 1}
    assert result.false_by_class == {"ordinary": 1}


def test_false_alerts_count_per_rule_and_per_hard_negative_class() -> None:
    fired = [
        Fired("acme", "ann@acme.example", D, "volume_spike"),
        Fired("acme", "ann@acme.example", day(7), "volume_spike"),
        Fired("acme", "ann@acme.example", day(20), "unusual_time"),  # her window comes first
        Fired("acme", "lee@acme.example", day(20), "volume_spike"),  # the busy day
        Fired("acme", "lee@acme.example", day(10), "breadth"),  # the incident: detected
    ]
    result = tally(PLANTED, WINDOWS, fired, ACTIVE)
    assert result.found[("off_hours", "1x")] == 1
    assert result.false_by_rule == {"volume_spike": 3, "unusual_time": 1}
    assert result.false_by_class == {"weekly_report": 3, "busy_tenant_day": 1}
    assert result.active == {"weekly_report": 3, "busy_tenant_day": 1, "ordinary": 2}


def test_an_alert_in_another_tenant_for_the_same_address_detects_nothing() -> None:
    result = tally(PLANTED, WINDOWS, [Fired("globex", SHARED, D, "breadth")], ACTIVE)
    assert result.found.total() == 0
    assert result.false_by_class == {"ordinary": 1}


@pytest.mark.parametrize(
    ("size", "label"),
    [(0.5, "0.5x"), (0.75, "0.75x"), (1.0, "1x"), (1.2, "1x"), (2.0, "2x"), (5.0, ">2x")],
)
def test_sizes_fall_in_the_nearest_bin(size: float, label: str) -> None:
    assert size_bin(size) == label


def test_default_runs_use_no_held_out_seed() -> None:
    assert harness.arguments().parse_args([]).held_out == 0


def test_held_out_seeds_are_drawn_at_run_time_and_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    drawn: list[int] = []
    real = harness.held_out_seeds

    def recording(count: int) -> list[int]:
        drawn.extend(real(count))
        return drawn[-count:]

    monkeypatch.setattr(harness, "held_out_seeds", recording)
    markdown = tmp_path / "detections.md"
    harness.main(
        [
            "--generators",
            "detgen",
            "--detgen-seeds",
            "3",
            "--held-out",
            "2",
            "--tenants",
            "brightwell",
            "--new-day-people",
            "0",
            "--markdown",
            str(markdown),
        ]
    )
    printed = capsys.readouterr().out + markdown.read_text(encoding="utf-8")
    assert len(drawn) == 2 and len(set(drawn)) == 2
    assert "seeds 3" in printed and "2 held-out seeds drawn at random" in printed
    for seed in drawn:
        assert str(seed) not in printed
    held_out = printed.split("2 held-out seeds drawn at random")[1].split("## Timing")[0]
    assert "Missed:" not in held_out and "False alerts (first" not in held_out
