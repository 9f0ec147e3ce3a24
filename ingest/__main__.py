"""Entry point for `python -m ingest`."""

import os
import sys

from ingest.cli import main

if __name__ == "__main__":
    # The database, its WAL, lock files and forwarded files hold what everyone searched and
    # the audit trail: whatever the ingest creates is its user's alone.
    os.umask(0o077)
    sys.exit(main())
