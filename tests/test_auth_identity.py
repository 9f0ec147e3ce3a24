"""Who signed in: an address the provider proves, compared in one canonical form.

The claim rules are plain functions of the claims `st.user` holds (Streamlit keeps the
identity token's claims, `iss` included); the dashboard's answer to them is checked through
AppTest, and in a real browser in tests/test_auth_browser.py.
"""

from __future__ import annotations

import pytest

from config.addresses import canonical_address, host_of_header
from config.settings import ConfigError, load_settings
from dashboard.auth import email_of, is_entra_issuer, matches, role_for, visitor_for
from tests.support.apptest import texts
from tests.support.roles import app_as

ENTRA_V2 = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
ENTRA_V1 = "https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/"
OTHER = "https://accounts.google.com"
KELVIN = "\u212a"  # KELVIN SIGN: Python lower-cases it to an ASCII k


@pytest.mark.parametrize("issuer", [ENTRA_V2, ENTRA_V1])
@pytest.mark.parametrize("edov", [None, False, "true", 1, "True"])
def test_an_entra_email_without_xms_edov_true_proves_no_address(issuer, edov) -> None:
    claims = {"iss": issuer, "email": "boss@example.com"}
    if edov is not None:
        claims["xms_edov"] = edov
    assert email_of(claims) is None
    assert email_of({**claims, "xms_edov": True}) == "boss@example.com"


def test_the_xms_edov_rule_is_for_entra_issuers_only() -> None:
    assert is_entra_issuer(ENTRA_V2) and is_entra_issuer(ENTRA_V1)
    for issuer in (OTHER, "https://login.microsoftonline.com.evil.test/", None, 7, "::"):
        assert not is_entra_issuer(issuer)
    assert email_of({"iss": OTHER, "email": "boss@example.com"}) == "boss@example.com"


def test_email_claim_names_the_claim_that_identifies_someone() -> None:
    settings = load_settings({"ADMIN_EMAILS": "boss@example.com", "EMAIL_CLAIM": "upn"})
    claims = {"is_logged_in": True, "iss": ENTRA_V2, "email": "boss@example.com"}
    assert visitor_for(True, claims, settings).role is None  # no upn: no address
    upn = {**claims, "email": "eve@example.com", "upn": "Boss@Example.com"}
    assert visitor_for(True, upn, settings).email == "boss@example.com"
    assert visitor_for(True, upn, settings).role == "admin"
    with pytest.raises(ConfigError, match="EMAIL_CLAIM must be one of email"):
        load_settings({"EMAIL_CLAIM": "name"})


@pytest.mark.parametrize(
    "claimed",
    [
        f"{KELVIN}ate@example.com",
        "kate@example.com\u3000",
        "\u3000kate@example.com",
        "kate@example.com\u00a0",
        "kat\u0435@example.com",  # a Cyrillic e
        "ｋate@example.com",  # a fullwidth k
        "kate@ex\u0430mple.com",
        "kate@EXAMPLE.COM\u200b",
        "kate@xn--exmple-cua.com\u0301",
    ],
)
def test_an_address_outside_the_canonical_form_matches_no_one(claimed: str) -> None:
    settings = load_settings({"ADMIN_EMAILS": "kate@example.com", "VIEWER_EMAILS": "@example.com"})
    assert canonical_address(claimed) is None
    assert not matches(claimed, settings.admin_emails)
    assert role_for(claimed, settings) is None
    assert email_of({"email": claimed}) is None


def test_the_canonical_form_keeps_ascii_case_and_blanks_out_of_the_comparison() -> None:
    assert canonical_address(" Kate@Example.COM\t") == "kate@example.com"
    assert (
        canonical_address("o'neil+tag@xn--bcher-kva.example") == "o'neil+tag@xn--bcher-kva.example"
    )
    assert canonical_address('"kate"@example.com') is None
    assert canonical_address("kate@example.com@example.com") is None


@pytest.mark.parametrize("name", ["ADMIN_EMAILS", "VIEWER_EMAILS"])
@pytest.mark.parametrize(
    "entry", [f"{KELVIN}ate@example.com", "kate@example.com\u3000", "@b\u00fccher.example"]
)
def test_an_access_entry_outside_the_canonical_form_is_a_configuration_error(name, entry) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: f"ok@example.com, {entry}"})
    message = str(caught.value)
    assert message.startswith(f"{name} must be e-mail addresses") and "\n" not in message
    assert ascii(entry.strip(" ")) in message  # escaped: a Kelvin sign must not read as K


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("Example.COM:8501", "example.com"),
        ("example.com.", "example.com"),
        ("[::1]:8501", "::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("ex\u0430mple.com", None),
        ("example.com:80x", None),
        ("", None),
    ],
)
def test_a_host_header_is_read_in_the_canonical_form(header: str, host: str | None) -> None:
    assert host_of_header(header) == host


def test_an_entra_account_that_cannot_prove_its_address_sees_no_access(dashboard_db) -> None:
    at = app_as({"email": "boss@example.com", "iss": ENTRA_V2})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(texts(at))
    assert at.title[0].value == "No access" and "could not be verified" in shown
    proven = app_as({"email": "boss@example.com", "iss": ENTRA_V2, "xms_edov": True})
    proven.run()
    assert proven.title[0].value != "No access"


@pytest.mark.parametrize("email", [f"{KELVIN}ate@example.com", "boss@example.com\u3000"])
def test_an_address_that_folds_into_a_listed_one_sees_no_access(dashboard_db, email) -> None:
    at = app_as({"email": email})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "No access"
    plain = app_as({"email": email.replace(KELVIN, "K").rstrip("\u3000")})
    plain.run()
    assert plain.title[0].value != "No access"  # ASCII, in any case, keeps its role
