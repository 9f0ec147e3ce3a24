"""An HTTP reply as plain data, so the API logic is testable without sockets.

`drop=True` means "close the connection without answering", the fault a client meets when a
load balancer or the network gives up on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import orjson

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
    return Reply(status, encode_json(doc), headers)


def encode_json(doc: object) -> bytes:
    """Compact UTF-8 JSON. orjson writes a document without floats byte for byte as the
    standard encoder does, at a tenth of the cost of a page; a float (which it spells
    another way, and NaN as null) or anything it refuses goes to the standard encoder; a
    lone surrogate, which UTF-8 cannot hold, is sent as its `\\uXXXX` escape, as JSON allows."""
    if not _has_float(doc):
        try:
            return orjson.dumps(doc)
        except TypeError:  # an integer beyond 64 bits, a lone surrogate, a non-string key
            pass
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(doc, separators=(",", ":")).encode()


def _has_float(doc: object) -> bool:
    pending = [doc]
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind is float:
            return True
        if kind is dict:
            pending.extend(value.values())  # type: ignore[attr-defined]
        elif kind is list or kind is tuple:
            pending.extend(value)  # type: ignore[arg-type]
    return False


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
