"""Registers the shared fixtures; they, and every helper the tests share, live in
tests/support/ (see its modules)."""

pytest_plugins = ["tests.support.fixtures"]
