"""Registers the shared fixtures; they, and every helper the tests share, live in
tests/support/ (see its modules)."""

pytest_plugins = [
    "tests.support.fixtures",
    "tests.support.forwarding",  # stored, ca
    "tests.support.roles",  # dashboard_db
    "tests.support.signin",  # browser, new_tab
    "tests.support.file_order",  # the longest files first (scripts/test's workers)
]
