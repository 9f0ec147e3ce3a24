"""An HTTP reply as plain data, so the API logic is testable without sockets.

`drop=True` means "close the connection without answering", the fault a client meets when a
load balancer or the network gives up on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

JSON = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = JSON
    drop: bool = False


DROP = Reply(0, drop=True)


def json_reply(status: int, doc: object, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status, body, headers)


def fail_doc(code: str, message: str, retryable: bool, key: dict | None = None) -> dict:
    """API 2.0's failure envelope: `{"fail":[{"errors":[{code, message, retryable}], key?}]}`."""
    failure: dict[str, object] = {
        "errors": [{"code": code, "message": message, "retryable": retryable}]
    }
    if key is not None:
        failure["key"] = key
    return {"fail": [failure]}


def fail_reply(status: int, code: str, message: str, key: dict | None = None) -> Reply:
    return json_reply(status, fail_doc(code, message, retryable=status >= 500, key=key))


def client_error(code: str, message: str) -> Reply:
    """The token endpoint's flatter failure shape: `{"fail":[{"code", "message"}]}`."""
    return json_reply(400, {"fail": [{"code": code, "message": message}]})
