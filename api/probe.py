"""`python -m api.probe URL`: exit 0 when URL (normally `/healthz`) answers 200.

The Docker health check (liveness: `/readyz` would fail while the ingest is behind): a
slim image has no curl. It sends METRICS_TOKEN when it is set
(from the environment or `.env`), and prints nothing of it.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from config.settings import read_environment


def main(argv: list[str]) -> int:
    url = argv[0] if argv else "http://127.0.0.1:8501/healthz"
    request = urllib.request.Request(url)
    token = read_environment().get("METRICS_TOKEN", "").strip()
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
