"""The search-target parser (`db.target_parse`) on records in the shapes of Elastic's
Mimecast integration test data (tests/data/archive-search-log-shapes.md), on the forms
docs/targets.md lists, and on any text at all (hypothesis): it never raises, and what it
keeps is bounded and storable."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from db.target_parse import (
    FILTER,
    KINDS,
    MAILBOX,
    MAX_FIELD,
    MAX_TARGETS,
    MAX_VALUE,
    MENTIONED,
    MESSAGE,
    Target,
    parse_targets,
)
from ingest.records import SearchEvent, parse_record

SHAPES = Path(__file__).parent / "data" / "archive-search-log-shapes.ndjson"

EXPECTED_SHAPES = [  # per line of the file, in order
    [],
    [Target(FILTER, "route", "inbound")],
    [Target(MESSAGE, "", "4f0c2a9de81b7c35-90412@mx1.northwind-demo.example")],
    [Target(MAILBOX, "", "rvance@relay.northwind-demo.example")],  # after a hash
    [],  # "quarterly": free text, no address
    [],
    [],
    [Target(MESSAGE, "", "a31f7c2.6d09e84-518203@gw2.northwind-demo.example")],
    [Target(MESSAGE, "", "48120557-1694513804211@eu-mta-42.eu.mimecast.lan")],  # bare id
    [],  # a host name is not an address
    [],
    [Target(MAILBOX, "", "rvance@corp.northwind-demo.example")],  # searched by the system (<>)
    [Target(FILTER, "status", "held"), Target(MENTIONED, "", "billing@contoso-demo.example")],
]


def test_parser_reads_the_targets_of_the_real_record_shapes() -> None:
    lines = SHAPES.read_text().splitlines()
    assert len(lines) == len(EXPECTED_SHAPES)
    for line, expected in zip(lines, EXPECTED_SHAPES, strict=True):
        event = parse_record(json.loads(line))
        assert isinstance(event, SearchEvent)
        assert parse_targets(event.search_text) == expected, line


def test_user_filter_is_a_mailbox_in_lower_case_and_other_fields_are_typed_filters() -> None:
    text = "[Route : inbound] [Status : held] [User : DHamilton@Example.COM] [Attachment : yes]"
    assert parse_targets(text) == [
        Target(FILTER, "route", "inbound"),
        Target(FILTER, "status", "held"),
        Target(MAILBOX, "", "dhamilton@example.com"),
        Target(FILTER, "attachment", "yes"),
    ]


def test_a_user_filter_without_an_address_is_kept_as_a_filter_not_a_mailbox() -> None:
    assert parse_targets("[User : bob]") == [Target(FILTER, "user", "bob")]
    assert parse_targets("[User : ]") == []


def test_free_text_addresses_are_mentioned_and_message_ids_are_messages() -> None:
    text = "from CEO@examp1e.com, about <CA+ab12@mail.gmail.com> and 123-456@mta.example."
    assert parse_targets(text) == [
        Target(MESSAGE, "", "CA+ab12@mail.gmail.com"),
        Target(MENTIONED, "", "ceo@examp1e.com"),
        Target(MESSAGE, "", "123-456@mta.example"),
    ]


def test_each_target_of_a_search_is_kept_once() -> None:
    text = "[User : a@x.io] [User : A@X.io] a@x.io a@x.io"
    assert parse_targets(text) == [Target(MAILBOX, "", "a@x.io"), Target(MENTIONED, "", "a@x.io")]


def test_hostile_markup_and_formulas_are_values_never_targets_of_their_own() -> None:
    assert parse_targets("<img src=x onerror=alert(1)>") == []
    assert parse_targets('=HYPERLINK("http://evil","x")') == []
    assert parse_targets("[Status : <b>held</b>]") == [Target(FILTER, "status", "<b>held</b>")]


def test_huge_values_are_not_targets_and_the_count_is_bounded() -> None:
    assert parse_targets(f"[User : {'a' * 400}@example.com]") == []
    assert parse_targets(f"[Route : {'x' * (MAX_VALUE + 1)}]") == []
    many = " ".join(f"u{i}@example.com" for i in range(5 * MAX_TARGETS))
    assert len(parse_targets(many)) == MAX_TARGETS


any_character = st.characters(codec=None, exclude_categories=())  # NUL and lone surrogates
pieces = st.one_of(
    st.text(any_character, max_size=30),
    st.sampled_from(
        ["[User : ", "[Route : ", "]", "[", " : ", "<", ">", "@", "-", ".com", "a@b.co", "\x00"]
    ),
    st.builds(lambda c, n: c * n, any_character, st.integers(1_000, 8_000)),
)
search_texts = st.lists(pieces, max_size=12).map("".join)


@settings(max_examples=500, deadline=None)
@given(search_texts)
def test_any_search_text_gives_bounded_storable_targets(text: str) -> None:
    found = parse_targets(text)
    assert len(found) <= MAX_TARGETS
    assert len(set(found)) == len(found)
    for target in found:
        assert target.kind in KINDS
        assert 0 < len(target.value) <= MAX_VALUE
        assert len(target.field) <= MAX_FIELD
        assert (target.field != "") == (target.kind == FILTER)
        assert "\x00" not in target.value
        assert not any("\ud800" <= char <= "\udfff" for char in target.value)
        target.value.encode("utf-8")  # storable on both databases
