"""E-mail addresses and host names in the one form they are compared in.

An address decides a role, so two different addresses must never compare equal. Python's
`str.lower()` and `str.strip()` follow Unicode: `'\\u212aate@example.com'` (a Kelvin sign)
lower-cases to `kate@example.com`, and a trailing ideographic space is stripped like a
blank. The canonical form is therefore ASCII only: a dot-atom local part (letters, digits
and ``!#$%&'*+/=?^_`{|}~-``, dots between), `@`, a domain of letter-digit-hyphen labels
(an internationalised domain in its `xn--` form), lower-cased by ASCII rules, with only
ASCII blanks around it ignored. Anything outside it is refused, never folded into another
address.
"""

from __future__ import annotations

import ipaddress
import re

MAX_ADDRESS = 254
"""The longest address SMTP carries (RFC 5321's path limit less its angle brackets)."""

_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})+"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_DOMAIN}")
_DOMAIN_ENTRY = re.compile(rf"@{_DOMAIN}")
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def canonical_address(text: str) -> str | None:
    """`text` as the address it is compared as, or None when it is outside the canonical
    form (a non-ASCII character, a blank anywhere, a quoted local part, no domain)."""
    if not text.isascii():
        return None
    address = text.strip(" \t\r\n").lower()  # ASCII only, so only A-Z change
    if len(address) > MAX_ADDRESS or not _ADDRESS.fullmatch(address):
        return None
    return address


def canonical_entry(text: str) -> str | None:
    """An access-list entry (an address, or `@domain` for the whole domain) in the
    canonical form, or None when it is outside it."""
    if text.startswith("@"):
        entry = text.lower() if text.isascii() else ""
        return entry if _DOMAIN_ENTRY.fullmatch(entry) else None
    return canonical_address(text)


def canonical_host(text: str) -> str | None:
    """A host name or IP address, lower case, without a trailing dot; None when it is
    neither (a non-ASCII name, a port, a wildcard)."""
    if not text.isascii():
        return None
    host = text.lower().removesuffix(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    return host if len(host) <= 253 and _HOST_NAME.fullmatch(host) else None


def host_of_header(value: str) -> str | None:
    """The host a `Host` header names (`name`, `name:port`, `[v6]:port`), canonical, or
    None when the header is malformed."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        name, port = (value[: end + 1], value[end + 1 :]) if end > 0 else ("", "")
        port = port.removeprefix(":") if port.startswith(":") else port
    else:
        name, _, port = value.partition(":")
    if port and not port.isdigit():
        return None
    return canonical_host(name) if name else None
