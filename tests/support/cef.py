"""A CEF parser for the forwarding tests: reads back what a receiver wrote."""

from __future__ import annotations

import re

_EXTENSION_KEY = re.compile(r"(?:^| )([A-Za-z0-9_]+)=")


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """(the seven header fields, the extension) of a `CEF:0|…` line, unescaped."""
    assert line.startswith("CEF:"), line[:40]
    header, index, current = [], 0, []
    text = line[4:]
    while len(header) < 7:
        char = text[index]
        if char == "\\" and text[index + 1] in "\\|":
            current.append(text[index + 1])
            index += 2
            continue
        if char == "|":
            header.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    extension = text[index:]
    # a key starts after an unescaped space: find `key=` where the `=` is not escaped
    starts = [m for m in _EXTENSION_KEY.finditer(extension) if not _escaped(extension, m.end() - 1)]
    values: dict[str, str] = {}
    for number, match in enumerate(starts):
        end = starts[number + 1].start() if number + 1 < len(starts) else len(extension)
        values[match.group(1)] = _unescape(extension[match.end() : end])
    return header, values


def _escaped(text: str, position: int) -> bool:
    slashes = 0
    while position - 1 - slashes >= 0 and text[position - 1 - slashes] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), value)
