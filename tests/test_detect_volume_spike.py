"""volume_spike misses unrelated to size (issue 17), on hand-built histories in a real
SQLite file, two tenants sharing the address: two odd same weekdays must not widen the
spread, and bursty searchers up on an ordinary day must not pass for a surging team."""

from __future__ import annotations

from datetime import timedelta

from tests.test_detect_surprise import LAST, START, office, scored, searches, staff

WHO = "analyst@corp.example"
SPIKE = LAST - timedelta(days=2)  # a Friday
WEEKDAY_COUNTS = (10, 14, 18, 12)  # Monday to Thursday


def _history(spike: int) -> list[dict[str, object]]:
    """Mondays to Thursdays as WEEKDAY_COUNTS, Fridays off except 29 searches two weeks
    and 2 searches five weeks before SPIKE, then `spike` searches on SPIKE."""
    records = office(staff("p", 8))
    for index in range((SPIKE - START).days):
        day = START + timedelta(days=index)
        if day.weekday() < 4:
            records += searches(WHO, day, 10, WEEKDAY_COUNTS[day.weekday()])
    records += searches(WHO, SPIKE - timedelta(weeks=2), 11, 29)
    records += searches(WHO, SPIKE - timedelta(weeks=5), 11, 2)
    return records + (
        searches(WHO, SPIKE, 9, spike // 2) + searches(WHO, SPIKE, 14, spike - spike // 2)
        if spike
        else []
    )


def test_two_odd_same_weekdays_do_not_widen_the_spread(tmp_path):
    """84 searches against a usual 15.5 (the two Fridays' median) is 5.4× it; the spread
    of two Fridays (29 and 2: 13.5) gave a robust z of 3.4, under 3.5, and no alert."""
    alerts = scored(tmp_path, {"spiky": _history(84), "calm": _history(0)})
    fired = [(t, r, d, f) for t, r, e, d, _, f in alerts if e == WHO]
    assert [(t, r, d) for t, r, d, _ in fired] == [("spiky", "volume_spike", SPIKE)]
    figures = fired[0][3]
    assert figures["baseline_kind"] == "same-weekday" and figures["usual"] == 15.5
    assert figures["mad"] < 13.5  # the many days', not the two Fridays'


def _bursty(spike: int) -> list[dict[str, object]]:
    """40 people searching 3 times a weekday and 15 on every fifth (8 of them on any day,
    2.8× their mean), 12 office staff, and WHO at about 8 a weekday, `spike` on SPIKE."""
    records = office([WHO, *staff("p", 12)])
    for index in range((SPIKE - START).days + 1):
        day = START + timedelta(days=index)
        if day.weekday() < 5:
            for n, email in enumerate(staff("b", 40)):
                records += searches(email, day, 11, 15 if (index + n) % 5 == 0 else 3)
    records = [
        r
        for r in records
        if not (r["emailAddr"] == WHO and str(r["createTime"]).startswith(SPIKE.isoformat()))
    ]
    return records + searches(WHO, SPIKE, 10, spike) if spike else records


def test_bursty_searchers_up_on_an_ordinary_day_are_no_surge(tmp_path):
    """Eight of 40 bursty people are up (2.8× their mean) on every weekday, as usual for
    them: that is no incident response, so WHO's 36 searches (5.5× their usual 6.5) are judged
    with their group's mood, not the eight's 2.8 (which asked for 72)."""
    alerts = scored(tmp_path, {"bursty": _bursty(36), "calm": _bursty(0)})
    fired = [(t, r, d, f) for t, r, e, d, _, f in alerts if e == WHO and d == SPIKE]
    assert [(t, r, d) for t, r, d, _ in fired] == [("bursty", "volume_spike", SPIKE)]
    assert fired[0][3]["tenant_ratio"] < 1.5
