"""Write or check the committed OpenAPI document, `docs/openapi.json`, for tools that
import it without a running server:

    python -m api.openapi --write docs/openapi.json   # after changing an endpoint
    python -m api.openapi --check docs/openapi.json   # exit 1 when the file is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from api.endpoints import API_VERSION, ENDPOINTS
from api.openapi_document import openapi_document


def document_text() -> str:
    """The document as committed: sorted keys, two-space indents, one final newline."""
    document = openapi_document(ENDPOINTS, API_VERSION)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.openapi", description=__doc__)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="PATH", type=Path, help="write the document to PATH")
    action.add_argument("--check", metavar="PATH", type=Path, help="exit 1 if PATH is stale")
    args = parser.parse_args(argv)
    text = document_text()
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        return 0
    current = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
    if current != text:
        print(
            f"{args.check} is stale: regenerate it with python -m api.openapi --write {args.check}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
