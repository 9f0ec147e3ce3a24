"""The rules of docs/reliability.md's second part, in words, each with the tests whose
passing shows it holds (`bench.rule_checks` runs them and writes the table)."""

from __future__ import annotations

from dataclasses import dataclass


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
        "download auditing",
        "Streamlit's own table export and copy are off (the server refuses to start with "
        "them on): on every page, in a real browser, no table or chart offers a download "
        "other than the audited buttons, and Ctrl-C copies nothing",
        (
            "tests/test_exports_browser.py::"
            "test_no_table_or_chart_offers_a_download_other_than_the_audited_buttons",
            "tests/test_exports_browser.py::"
            "test_a_table_cell_copied_with_ctrl_c_leaves_the_clipboard_as_it_was",
            "tests/test_exports.py::"
            "test_the_dashboard_refuses_to_start_with_streamlits_own_table_export_on",
        ),
    ),
    Rule(
        "download auditing",
        "every CSV quotes every field, and read with ',' or ';' no cell starts a formula; a "
        "table's CSV is the same file from the dashboard and from the API",
        (
            "tests/test_exports.py::"
            "test_a_semicolon_split_of_any_written_field_never_starts_a_formula",
            "tests/test_exports.py::"
            "test_every_csv_the_dashboard_writes_quotes_every_field_and_runs_no_formula",
            "tests/test_exports_browser.py::"
            "test_a_tables_csv_is_the_same_file_from_the_dashboard_and_from_the_api",
        ),
    ),
    Rule(
        "audit before action",
        "every admin action (API and page cursor reset, token create and revoke, triage, "
        "the CLI's) writes its audit row in the same transaction: with the row refused by "
        "a real trigger, nothing changes and the caller is told so",
        (
            "tests/test_admin_audit.py::"
            "test_an_admin_change_and_its_audit_row_commit_together_or_not_at_all",
            "tests/test_admin_audit.py::"
            "test_an_api_reset_whose_audit_row_is_refused_answers_503_and_keeps_the_cursor",
            "tests/test_admin_audit.py::"
            "test_a_status_page_reset_whose_audit_row_is_refused_keeps_the_cursor",
            "tests/test_admin_audit.py::test_a_token_whose_audit_row_is_refused_is_not_created",
            "tests/test_admin_audit.py::"
            "test_a_revocation_whose_audit_row_is_refused_leaves_the_token_active",
            "tests/test_admin_audit.py::test_a_triage_whose_audit_row_is_refused_changes_no_alert",
            "tests/test_admin_audit.py::"
            "test_cli_admin_actions_whose_audit_row_is_refused_change_nothing",
        ),
    ),
    Rule(
        "refused-token flooding",
        "a revoked, expired or unknown token's refusals are rate-limited (by token name, "
        "or by address) and identical refusals within a minute are one audit row with their "
        "count: 300 calls cost a handful of rows, and the counts add up to every call",
        (
            "tests/test_api_audit.py::"
            "test_a_revoked_tokens_flood_is_rate_limited_and_its_rows_count_every_call",
            "tests/test_api_audit.py::"
            "test_an_unknown_tokens_refusals_are_limited_by_address_and_write_nothing",
            "tests/test_api_audit.py::"
            "test_identical_refusals_within_a_window_are_one_row_with_their_count",
            "tests/test_api_audit.py::test_a_failing_write_loses_no_count",
        ),
    ),
    Rule(
        "API audit",
        "every answer given to a known token is a row (429, 404, 405, a malformed body "
        "included), and every hostile parameter is a 400 problem, never a server error",
        (
            "tests/test_api_audit.py::test_every_answer_to_a_known_token_is_a_row",
            "tests/test_api_audit.py::test_a_tokens_429s_are_rows_collapsed_like_denials",
            "tests/test_api_hostile.py::test_no_hostile_parameter_is_a_server_error",
            "tests/test_api_hostile.py::test_every_hostile_parameter_is_a_400_problem",
            "tests/test_api_hostile.py::test_a_huge_or_deeply_nested_body_is_a_400_problem",
        ),
    ),
    Rule(
        "file modes",
        "the database, its WAL, SHM and lock files, and forwarded files are created 0600 in "
        "0700 folders whatever the umask, by the ingest and the dashboard",
        (
            "tests/test_file_modes.py::"
            "test_the_ingest_creates_its_folder_0700_and_the_database_wal_shm_and_locks_0600",
            "tests/test_file_modes.py::"
            "test_the_dashboard_creates_its_folder_0700_and_the_database_wal_and_shm_0600",
            "tests/test_forward_files.py::"
            "test_forwarded_files_are_0600_in_0700_folders_whatever_the_umask",
        ),
    ),
    Rule(
        "forwarding outages",
        "a redirect (301, 302, 307, 308) or a 2xx that is not the receiver's own "
        "acknowledgement is a refusal naming only the redirect's host: nothing is marked "
        "delivered, and the next pass to a working receiver delivers each once (NDJSON, "
        "HEC, Slack, Teams, webhook)",
        (
            "tests/test_forward_redirects.py::"
            "test_a_redirect_is_a_refusal_naming_its_host_and_the_next_pass_delivers_each_once",
            "tests/test_forward_redirects.py::"
            "test_a_2xx_that_is_not_the_receivers_acknowledgement_is_a_refusal",
            "tests/test_forward_redirects.py::"
            "test_a_redirected_forward_exits_1_and_status_and_the_status_page_name_only_its_host",
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
