"""Entry point for `python -m ingest` and the `mimecast-searchlogs` console script."""

import os
import sys

from ingest.cli import main


def console() -> int:
    """The command line, with what the ingest creates readable by its user alone."""
    # The database, its WAL, lock files and forwarded files hold what everyone searched and
    # the audit trail: whatever the ingest creates is its user's alone.
    os.umask(0o077)
    return main()


if __name__ == "__main__":
    sys.exit(console())
