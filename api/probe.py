"""`python -m api.probe URL`: exit 0 when URL (normally `/healthz`) answers 200.

The Docker health check (liveness: `/readyz` would fail while the ingest is behind): a
slim image has no curl. It sends METRICS_TOKEN when it is set
(from the environment or `.env`, or the file METRICS_TOKEN_FILE names), and prints nothing
of it. Under `server.baseUrlPath` give the URL with the path (`…/searchlogs/healthz`).
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from config.secret_files import secret_value
from config.settings import ConfigError, read_environment


def main(argv: list[str]) -> int:
    url = argv[0] if argv else "http://127.0.0.1:8501/healthz"
    request = urllib.request.Request(url)
    try:
        token = secret_value(read_environment(), "METRICS_TOKEN")  # or METRICS_TOKEN_FILE
    except ConfigError as exc:
        print(f"not healthy: {exc}")
        return 1
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=4) as reply:
            return 0 if reply.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"not healthy: HTTP {exc.code}: {exc.read(500).decode(errors='replace')}")
        return 1
    except OSError as exc:
        print(f"not healthy: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
