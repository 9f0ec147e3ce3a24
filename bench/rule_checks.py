"""The second part of docs/reliability.md: the rules that are not ingest scenarios — sign-in
that fails closed, downloads that cannot escape the audit trail, forwarding through
outages — each checked by named tests, run now, and reported with their outcome. From the
project root:

    .venv/bin/python -m bench.rule_checks --markdown docs/reliability.md

It replaces the part between its markers in that file and leaves the rest (written by
`bench.ingest_scenarios`) as it is. Tests that start the product need RUNTIME_PYTHON (as
`scripts/test` exports it); the PostgreSQL ones need TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.support.runtime import PROJECT_ROOT

COMMAND = ".venv/bin/python -m bench.rule_checks --markdown docs/reliability.md"
START, END = "<!-- rule-checks:start -->", "<!-- rule-checks:end -->"


@dataclass(frozen=True)
class Rule:
    """One rule, in words, and the tests (pytest node ids, a parametrised test as a whole)
    whose passing shows it holds."""

    area: str
    rule: str
    tests: tuple[str, ...]


RULES = (
    Rule(
        "fail-closed configuration",
        "a secrets file that does not parse, an incomplete `[auth]`, or access lists set "
        "without sign-in: every address shows only the problem (no data, no menu), in a "
        "real browser on a server started from the runtime install, and the log says it in "
        "one line",
        (
            "tests/test_auth_browser.py::"
            "test_a_broken_sign_in_configuration_shows_only_the_problem_at_every_address",
            "tests/test_auth.py::test_an_incomplete_auth_section_closes_the_dashboard",
            "tests/test_auth.py::test_a_secrets_file_that_cannot_be_parsed_closes_the_dashboard",
            "tests/test_auth.py::test_access_lists_without_sign_in_close_the_dashboard",
            "tests/test_auth.py::"
            "test_an_incomplete_auth_section_shows_only_the_problem_even_to_an_admin",
        ),
    ),
    Rule(
        "fail-closed configuration",
        "a secrets file that cannot be read stops the server before it serves, with one "
        "line naming the file and no traceback",
        (
            "tests/test_auth_browser.py::"
            "test_a_secrets_file_streamlit_cannot_read_stops_the_dashboard_before_it_serves",
            "tests/test_auth.py::test_a_secrets_file_that_cannot_be_read_is_named_in_one_line",
            "tests/test_auth.py::test_a_secrets_path_that_cannot_be_read_closes_the_dashboard",
        ),
    ),
    Rule(
        "fail-closed configuration",
        "sign-in works from `requirements.txt` alone; only an `email_verified` of `true` "
        "(or none) identifies someone",
        (
            "tests/test_auth.py::"
            "test_the_runtime_install_has_everything_streamlits_sign_in_imports",
            "tests/test_auth.py::test_an_email_verified_claim_other_than_true_means_unverified",
        ),
    ),
    Rule(
        "fail-closed configuration",
        "a setting that fails validation is shown to callers who have not signed in only as "
        '"configuration error" (health, metrics, the API with any bearer, the page before '
        "sign-in); the log and the CLI name it, a URL's password redacted",
        (
            "tests/test_settings_hidden.py::"
            "test_a_bad_settings_value_is_not_in_any_answer_before_sign_in",
            "tests/test_settings_hidden.py::"
            "test_the_page_before_sign_in_says_only_configuration_error",
            "tests/test_settings_hidden.py::"
            "test_the_cli_names_the_setting_and_hides_the_urls_password",
        ),
    ),
    Rule(
        "identity",
        "an Entra `email` counts only with `xms_edov` true (or EMAIL_CLAIM names another "
        "claim); an address outside the ASCII canonical form matches no one, in a real "
        "browser too, and is refused in the access lists",
        (
            "tests/test_auth_identity.py::"
            "test_an_entra_email_without_xms_edov_true_proves_no_address",
            "tests/test_auth_identity.py::"
            "test_an_entra_account_that_cannot_prove_its_address_sees_no_access",
            "tests/test_auth_identity.py::test_an_address_outside_the_canonical_form_matches_no_one",
            "tests/test_auth_browser.py::test_an_address_that_folds_into_the_admins_gets_no_access",
            "tests/test_auth_identity.py::"
            "test_an_access_entry_outside_the_canonical_form_is_a_configuration_error",
        ),
    ),
    Rule(
        "Host checks",
        "a foreign `Host` (DNS rebinding) gets a 400 problem on every route, the pages' "
        "WebSocket included; Streamlit's own `/_stcore/metrics` is off",
        (
            "tests/test_auth_hosts.py::test_a_foreign_host_gets_a_400_problem_on_every_route",
            "tests/test_auth_hosts.py::test_the_websocket_of_the_pages_refuses_a_foreign_host",
            "tests/test_auth_hosts.py::test_only_the_dashboards_own_names_are_answered",
            "tests/test_auth_hosts.py::test_streamlits_own_metrics_are_turned_off_even_on_loopback",
        ),
    ),
    Rule(
        "download auditing",
        "a file fetched without its click (its id read from the page's websocket) leaves "
        "its audit entry; a click records exactly one",
        (
            "tests/test_browser.py::"
            "test_a_download_fetched_without_its_click_is_in_the_audit_trail",
            "tests/test_browser.py::test_a_clicked_download_is_recorded_exactly_once",
        ),
    ),
    Rule(
        "download auditing",
        "every download's entry is written when its file is made, and a file whose entry "
        "cannot be written is not served",
        (
            "tests/test_pages.py::"
            "test_every_download_is_recorded_when_its_file_is_made_not_when_clicked",
            "tests/test_pages.py::test_a_download_whose_entry_cannot_be_written_is_not_served",
        ),
    ),
    Rule(
        "secrets in URLs",
        "a database URL's password and secret-looking query parameters never show on "
        "`/status`, in `ingest status` or in error messages",
        (
            "tests/test_settings.py::test_database_url_secrets_are_hidden_in_every_form",
            "tests/test_settings.py::test_ingest_status_hides_query_string_secrets_on_postgresql",
            "tests/test_settings.py::test_a_database_error_message_hides_query_string_secrets",
            "tests/test_pages.py::test_status_hides_secrets_in_the_database_url",
        ),
    ),
    Rule(
        "forwarding outages",
        "a receiver stopped mid-stream gets the rest in order when it returns, nothing "
        "lost, nothing repeated",
        (
            "tests/test_forward.py::"
            "test_a_receiver_stopped_mid_stream_gets_the_rest_in_order_when_it_returns",
        ),
    ),
    Rule(
        "forwarding outages",
        "a 429 storm is waited out, honouring `Retry-After`",
        ("tests/test_forward.py::test_a_429_storm_is_waited_out_honouring_retry_after",),
    ),
    Rule(
        "forwarding outages",
        "an acknowledgement lost after the receiver stored a batch, or the forwarder "
        "SIGKILLed between send and commit, repeats that one batch only",
        (
            "tests/test_forward.py::"
            "test_an_ack_lost_after_the_receiver_stored_the_batch_repeats_that_batch_only",
            "tests/test_forward.py::"
            "test_forwarder_sigkilled_between_send_and_commit_repeats_only_that_batch",
        ),
    ),
    Rule(
        "forwarding outages",
        "a message rejected as malformed is parked with the reason and the rest delivered",
        (
            "tests/test_forward.py::"
            "test_a_message_rejected_as_malformed_is_parked_and_the_rest_delivered",
            "tests/test_forward.py::test_a_message_that_cannot_be_encoded_is_parked_not_stuck",
        ),
    ),
    Rule(
        "forwarding outages",
        "Debian's rsyslogd over TLS receives every stored search as CEF once; restarted "
        "mid-stream, it gets everything with repeats within one batch",
        (
            "tests/test_forward_syslog.py::"
            "test_rsyslog_over_tls_writes_every_stored_search_as_cef_once",
            "tests/test_forward_syslog.py::"
            "test_rsyslog_down_then_restarted_mid_stream_gets_everything_repeats_within_one_batch",
        ),
    ),
    Rule(
        "forwarding outages",
        "on PostgreSQL nothing is forwarded past a transaction still in flight (searches and "
        "alerts)",
        (
            "tests/test_forward.py::test_postgres_never_forwards_past_a_transaction_still_in_flight",
            "tests/test_forward_alerts.py::"
            "test_postgres_alert_horizon_waits_for_a_detection_still_in_flight",
        ),
    ),
    Rule(
        "alerts delivered",
        "`run` detects, then forwards each alert exactly once to Slack, Teams, a signed "
        "webhook and ECS/CEF/OCSF files; a second pass sends nothing",
        (
            "tests/test_forward_alerts.py::"
            "test_run_detects_then_forwards_each_alert_once_to_chat_webhooks_and_files",
        ),
    ),
)


def run_tests(node_ids: list[str]) -> dict[str, list[str]]:
    """Run the tests once; for each node id given, the outcomes of its cases."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "junit.xml"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-o",
                "addopts=",
                f"--junitxml={report}",
                *node_ids,
            ],
            cwd=PROJECT_ROOT,
            check=False,
        )
        tree = ElementTree.parse(report)
    outcomes: dict[str, list[str]] = {node: [] for node in node_ids}
    for case in tree.iter("testcase"):
        module = case.get("classname", "").replace(".", "/") + ".py"
        name = case.get("name", "").split("[")[0]
        verdict = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                verdict = "failed"
            elif child.tag == "skipped":
                verdict = "skipped"
        node = f"{module}::{name}"
        if node in outcomes:
            outcomes[node].append(verdict)
    return outcomes


def markdown(outcomes: dict[str, list[str]], seconds: float) -> str:
    """The block that goes between the markers."""
    lines = [
        START,
        "## Access, audit and forwarding",
        "",
        "Each rule below is held by the tests named in its row, run together by one "
        f"command (`{COMMAND}`, {seconds / 60:.1f} minutes on "
        f"{datetime.now(UTC):%Y-%m-%d}); a row passes when every case of its tests passed.",
        "",
        "| area | rule | tests | cases passed | holds |",
        "|---|---|---|---:|---|",
    ]
    for rule in RULES:
        verdicts = [v for test in rule.tests for v in outcomes.get(test, [])]
        passed = verdicts.count("passed")
        holds = bool(verdicts) and passed == len(verdicts)
        names = "<br>".join(f"`{test.split('::')[1]}`" for test in rule.tests)
        lines.append(
            f"| {rule.area} | {rule.rule} | {names} | {passed} of {len(verdicts)} | "
            f"{'yes' if holds else '**no**'} |"
        )
    lines += ["", END]
    return "\n".join(lines)


def block_of(path: Path) -> str:
    """The block between the markers of `path`, or "" (kept when the scenarios rewrite it)."""
    text = path.read_text() if path.exists() else ""
    if START not in text or END not in text:
        return ""
    return START + text.split(START, 1)[1].split(END, 1)[0] + END


def write_block(path: Path, block: str) -> None:
    """Put `block` between the markers of `path` (at its end the first time)."""
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", metavar="PATH", help="put the table in this file")
    args = parser.parse_args()
    started = time.monotonic()
    outcomes = run_tests(sorted({test for rule in RULES for test in rule.tests}))
    block = markdown(outcomes, time.monotonic() - started)
    if args.markdown:
        write_block(Path(args.markdown), block)
    else:
        print(block)


if __name__ == "__main__":
    main()
