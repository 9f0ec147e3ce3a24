"""Records: validation, normalisation, and keys that keep twins but not re-reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ingest.records import EventKeyer, Rejection, SearchEvent, parse_create_time, parse_record

RECORD = {
    "createTime": "2026-11-12T16:22:16+0000",
    "emailAddr": "  Admin@Example.com ",
    "source": "archive",
    "searchText": "[Status : held]",
    "searchReason": "",
    "description": "Message Tracking Search",
}


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-12T16:22:16+0000",
        "2026-11-12T16:22:16Z",
        "2026-11-12T16:22:16+00:00",
        "2026-11-12T17:22:16+0100",
        "2026-11-12T16:22:16.000+0000",
    ],
)
def test_create_time_forms_all_mean_the_same_utc_instant(text):
    assert parse_create_time(text) == datetime(2026, 11, 12, 16, 22, 16, tzinfo=UTC)


def test_email_is_trimmed_and_lower_cased_for_grouping():
    event = parse_record(RECORD)
    assert isinstance(event, SearchEvent)
    assert event.email_addr == "admin@example.com"


def test_raw_json_keeps_the_record_as_received():
    event = parse_record(RECORD)
    assert isinstance(event, SearchEvent)
    assert '"emailAddr":"  Admin@Example.com "' in event.raw_json


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"emailAddr": "a@b.c"}, "createTime is missing"),
        ({"createTime": "not a date", "emailAddr": "a@b.c"}, "is not yyyy-MM-ddTHH:mm:ss+0000"),
        ({"createTime": "2026-11-12T16:22:16", "emailAddr": "a@b.c"}, "is not yyyy-MM-dd"),
        ({"createTime": "2026-13-12T16:22:16+0000", "emailAddr": "a@b.c"}, "not a valid date"),
        ({"createTime": 1700000000, "emailAddr": "a@b.c"}, "createTime is int"),
        ({"createTime": "2026-11-12T16:22:16+0000"}, "emailAddr is missing"),
        ({"createTime": "2026-11-12T16:22:16+0000", "emailAddr": 5}, "emailAddr is int"),
        ("just a string", "record is str, not an object"),
        (None, "record is NoneType, not an object"),
        (42, "record is int, not an object"),
    ],
)
def test_invalid_records_are_rejected_with_a_reason(record, reason):
    result = parse_record(record)
    assert isinstance(result, Rejection)
    assert reason in result.reason


def test_identical_twins_in_one_window_get_distinct_keys():
    keyer = EventKeyer()
    first, second = parse_record(RECORD), parse_record(dict(RECORD))
    assert keyer.event_key(first) != keyer.event_key(second)


def test_rereading_a_window_reproduces_the_same_keys():
    def keys() -> list[str]:
        keyer = EventKeyer()
        return [keyer.event_key(parse_record(dict(RECORD))) for _ in range(3)]

    assert keys() == keys()


def test_unknown_extra_fields_do_not_change_the_key():
    with_extra = {**RECORD, "someNewField": "x"}
    assert EventKeyer().event_key(parse_record(RECORD)) == EventKeyer().event_key(
        parse_record(with_extra)
    )


def test_same_search_by_other_user_or_second_has_another_key():
    other_user = {**RECORD, "emailAddr": "b@example.com"}
    other_second = {**RECORD, "createTime": "2026-11-12T16:22:17+0000"}
    keys = {EventKeyer().event_key(parse_record(r)) for r in (RECORD, other_user, other_second)}
    assert len(keys) == 3


def test_identical_malformed_records_at_different_places_stay_distinct():
    keyer = EventKeyer()
    rejection = parse_record(None)
    assert isinstance(rejection, Rejection)
    assert keyer.reject_key(rejection, "2026-11-12T10:00:00+00:00") != EventKeyer().reject_key(
        rejection, "2026-11-12T11:00:00+00:00"
    )


def test_event_keys_never_change_between_versions():
    """Stored rows carry these keys: if the derivation changed, the next overlapping poll
    after an upgrade would store every re-read event a second time."""
    keyer = EventKeyer()
    event = parse_record(RECORD)
    assert (
        keyer.event_key(event) == "95682f949134a3d9c3c65ac052168e6d8212c74955e3a39b97ebd0b96a2de809"
    )
    assert (
        keyer.event_key(event) == "338f11850d572b10ab4b7583d6257c3d5137d21cc71591794c8f6d45c89646c4"
    )


MALFORMED_GOLDEN = [
    (None, "null", "f195cc27d3b9465c08c0bd60f2bd44d43d52d7fa5a97e45d9cea635a54db32cc"),
    (
        "Message Tracking Search",
        '"Message Tracking Search"',
        "6a358f9d03f028815285bf2d6cc2c238344e737a7f58972a06bdc7a54f89b216",
    ),
    (3.5, "3.5", "7e733f913343b00b7ea00512511ed2e6a97cead865a67668f752d0fc8d6c8500"),
    (
        {"createTime": 1e16, "emailAddr": "a@example.com"},
        '{"createTime":1e+16,"emailAddr":"a@example.com"}',
        "a9077ff733f3910b59859bc88b8cc4af7728a859543ffe82468e2e293ebbc70b",
    ),
    (
        {
            "createTime": "2026-11-12T16:22:16",
            "emailAddr": "zoë@example.de",
            "searchText": '請求書 🔒\n"x"',
        },
        '{"createTime":"2026-11-12T16:22:16","emailAddr":"zoë@example.de",'
        '"searchText":"請求書 🔒\\n\\"x\\""}',
        "fdcdda312cbd59fc3b0c9afae3f257602393a7f344df4417199a23f262ffee53",
    ),
    (
        {"createTime": "2026-11-12T16:22:16+0000", "emailAddr": 12345678901234567890123},
        '{"createTime":"2026-11-12T16:22:16+0000","emailAddr":12345678901234567890123}',
        "efd15b53b5331dc8896b729aa802cf166b72aeea53a1b9cfd8016f79de5f3e4e",
    ),
    (
        {"createTime": "2026-11-12T16:22:16+0000", "emailAddr": ["admin@example.com", {"a": 1e-7}]},
        '{"createTime":"2026-11-12T16:22:16+0000","emailAddr":["admin@example.com",{"a":1e-07}]}',
        "e5cad81b286f26824547d3cda5684aaab156989a278cbd6e42e4019c0f973bbf",
    ),
]


@pytest.mark.parametrize(("record", "raw_json", "key"), MALFORMED_GOLDEN)
def test_reject_text_and_keys_never_change_between_versions(record, raw_json, key):
    """A reject's key is made from its JSON text: if the text changed (a float spelled
    another way, say), the next overlapping poll would store every re-read reject again."""
    rejection = parse_record(record)
    assert isinstance(rejection, Rejection)
    assert rejection.raw_json == raw_json
    assert EventKeyer().reject_key(rejection, "2026-11-12T16:22:16+00:00") == key


@pytest.mark.parametrize(
    "create_time",
    [
        "0001-01-01T00:30:00+0100",  # before year 1 in UTC: OverflowError, not ValueError
        "9999-12-31T23:59:59-0100",  # after year 9999 in UTC
        "0001-01-01T00:00:00+0000",
        "1969-12-31T23:59:59Z",  # SQL's integer division would put it in the wrong hour
        "9999-06-01T00:00:00+0000",
    ],
)
def test_a_create_time_outside_1970_to_9998_is_rejected_with_a_reason(create_time):
    result = parse_record({**RECORD, "createTime": create_time})
    assert isinstance(result, Rejection)
    assert result.reason == (
        f"createTime {create_time!r} is outside the years 1970 to 9998 that the ingest stores"
    )


def test_the_first_and_last_stored_instants_are_accepted():
    for create_time in ("1970-01-01T00:00:00+0000", "9998-12-31T23:59:59Z"):
        assert isinstance(parse_record({**RECORD, "createTime": create_time}), SearchEvent)


def test_a_lone_surrogate_is_shown_as_a_replacement_and_kept_exactly_in_raw_json():
    record = {
        **RECORD,
        "emailAddr": "a\ud800@example.com",
        "searchText": "x\udfffy",
        "museQuery": {"\udc00key": ["\ud83d"]},
    }
    event = parse_record(record)
    assert isinstance(event, SearchEvent)
    assert (event.email_addr, event.search_text) == ("a\ufffd@example.com", "x\ufffdy")
    assert event.muse_query == '{"\ufffdkey": ["\ufffd"]}'
    event.raw_json.encode("utf-8")  # storable: no lone surrogate left as a character
    assert "\\ud800" in event.raw_json and "\\udfff" in event.raw_json
    assert json.loads(event.raw_json) == record, "nothing lost"


def test_a_nul_is_shown_as_a_replacement_and_kept_exactly_in_raw_json():
    record = {**RECORD, "source": "arch\x00ive", "description": "\x00"}
    event = parse_record(record)
    assert isinstance(event, SearchEvent)
    assert (event.source, event.description) == ("arch\ufffdive", "\ufffd")
    assert "\x00" not in event.raw_json and json.loads(event.raw_json) == record


def test_an_escape_typed_as_text_is_kept_as_text():
    record = {**RECORD, "searchText": "\\u0000 and \\ud800"}
    event = parse_record(record)
    assert isinstance(event, SearchEvent)
    assert event.search_text == "\\u0000 and \\ud800"


def test_the_key_of_a_record_with_unstorable_characters_comes_from_the_record_as_received():
    """Two records that differ only where the stored text shows U+FFFD are two searches."""
    nul = parse_record({**RECORD, "searchText": "a\x00"})
    surrogate = parse_record({**RECORD, "searchText": "a\ud800"})
    replacement = parse_record({**RECORD, "searchText": "a\ufffd"})
    keys = {EventKeyer().event_key(event) for event in (nul, surrogate, replacement)}
    assert len(keys) == 3


def test_a_rejected_record_with_a_lone_surrogate_has_storable_raw_json():
    rejection = parse_record({"createTime": "\ud800", "emailAddr": "a@example.com"})
    assert isinstance(rejection, Rejection)
    rejection.raw_json.encode("utf-8")
    rejection.reason.encode("utf-8")
    assert json.loads(rejection.raw_json)["createTime"] == "\ud800"
