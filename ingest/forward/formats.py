"""The wire formats of a search or an alert: ECS (as Elastic's own Mimecast integration maps
archive search logs), CEF (for syslog) and OCSF. Pure functions from a typed value to bytes,
so each is tested on its own and costs a few microseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from ingest.forward.messages import Alert, Search

ECS_VERSION = "8.11.0"  # what Elastic's Mimecast integration sets on archive search logs
PRODUCT = "Mimecast search-log dashboard"
VENDOR = "Mimecast"
CEF_VENDOR, CEF_PRODUCT, CEF_VERSION = "Mimecast", "Archive Search Logs", "2.0"
OCSF_VERSION = "1.3.0"
SEVERITY_IDS = {"low": 2, "medium": 3, "high": 4, "critical": 5}
CEF_SEVERITY = {"low": 3, "medium": 5, "high": 8, "critical": 10}


def iso_millis(moment: datetime) -> str:
    """`2024-11-12T16:21:27.000Z`, as Elastic writes `@timestamp`."""
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def epoch_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def split_address(address: str) -> tuple[str, str] | None:
    """(name, domain) split at the last `@`, or None when there is no `@` with text on both
    sides (the `<>` system sender)."""
    name, at, domain = address.rpartition("@")
    if not at or not name or not domain:
        return None
    return name, domain


def _user(address: str) -> tuple[dict[str, str], list[str]]:
    user = {"email": address}
    related: list[str] = []
    parts = split_address(address)
    if parts:
        user["name"], user["domain"] = parts
        related.append(parts[0])
    if address not in related:
        related.append(address)
    return user, related


def _organization(item: Search | Alert) -> dict[str, str]:
    """ECS `organization`: the tenant (a Mimecast account), its name as the id that never
    changes and its display name as the name people know."""
    return {"id": item.tenant, "name": item.tenant_display}


# --- ECS ---------------------------------------------------------------------------------


def ecs_search(search: Search) -> dict[str, Any]:
    """Field for field what Elastic's `mimecast.archive_search_logs` ingest pipeline makes of
    the same record: `@timestamp` and `event.created` from `createTime`, `user.*` split from
    the address, `related.user` (name, then address), `mimecast.search_details.*` only when
    present and non-empty; plus `event.id`, the search's stable key, and `organization`, its
    tenant."""
    stamp = iso_millis(search.create_time)
    user, related = _user(search.email_addr) if search.email_addr else ({}, [])
    details = {
        name: value
        for name, value in (
            ("text", search.search_text),
            ("reason", search.search_reason),
            ("description", search.description),
            ("source", search.source),
            ("path", search.search_path),
        )
        if value
    }
    doc: dict[str, Any] = {
        "@timestamp": stamp,
        "ecs": {"version": ECS_VERSION},
        "event": {
            "id": search.key,
            "kind": "event",
            "category": ["api"],
            "type": ["admin"],
            "created": stamp,
            "dataset": "mimecast.archive_search_logs",
        },
        "organization": _organization(search),
    }
    if user:
        doc["user"] = user
        doc["related"] = {"user": related}
    if details:
        doc["mimecast"] = {"search_details": details}
    return doc


def ecs_alert(alert: Alert) -> dict[str, Any]:
    """An alert as an ECS `event.kind: alert` document about the user it concerns."""
    user, related = _user(alert.email_addr)
    return {
        "@timestamp": iso_millis(alert.created_at),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "id": alert.id,
            "kind": "alert",
            "category": ["api"],
            "type": ["admin"],
            "created": iso_millis(alert.created_at),
            "start": iso_millis(alert.window_start),
            "end": iso_millis(alert.window_end),
            "severity": SEVERITY_IDS.get(alert.severity, 3),
            "reference": alert.evidence_url,
            "dataset": "mimecast.archive_search_alerts",
        },
        "organization": _organization(alert),
        "message": alert.summary,
        "rule": {"name": alert.rule},
        "user": user,
        "related": {"user": related},
    }


# --- CEF ---------------------------------------------------------------------------------


def cef_header(value: str) -> str:
    """CEF header fields escape `\\` and `|`; a line break would end the record, so it
    becomes a space."""
    return (
        value.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("\r\n", " ")
        .replace("\n", " ")
        .replace("\r", " ")
    )


def cef_value(value: str) -> str:
    """CEF extension values escape `\\` and `=`, and line breaks as `\\n` / `\\r`."""
    return value.replace("\\", "\\\\").replace("=", "\\=").replace("\r", "\\r").replace("\n", "\\n")


def _cef(signature: str, name: str, severity: int, extension: list[tuple[str, str]]) -> str:
    ext = " ".join(f"{key}={cef_value(value)}" for key, value in extension if value)
    head = "|".join(
        cef_header(part)
        for part in (CEF_VENDOR, CEF_PRODUCT, CEF_VERSION, signature, name, str(severity))
    )
    return f"CEF:0|{head}|{ext}"


CEF_TENANT = ("cs4Label", "cs4")
"""The custom string labelled `tenant` that carries a search's or an alert's tenant name."""


def _cef_tenant(item: Search | Alert) -> list[tuple[str, str]]:
    label, field = CEF_TENANT
    return [(label, "tenant"), (field, item.tenant)]


def cef_search(search: Search) -> str:
    """`CEF:0|Mimecast|Archive Search Logs|2.0|archive-search|Archive search|3|…`: the
    searcher in `suser`, the search text in `msg`, the reason in `reason`, the rest in
    labelled custom strings (the tenant's name in `cs4`); `externalId` is the stable key."""
    parts = split_address(search.email_addr)
    return _cef(
        "archive-search",
        "Archive search",
        3,
        [
            ("rt", str(epoch_millis(search.create_time))),
            ("externalId", search.key),
            ("suser", search.email_addr),
            ("sntdom", parts[1] if parts else ""),
            ("msg", search.search_text or ""),
            ("reason", search.search_reason or ""),
            ("cs1Label", "searchSource" if search.source else ""),
            ("cs1", search.source or ""),
            ("cs2Label", "searchPath" if search.search_path else ""),
            ("cs2", search.search_path or ""),
            ("cs3Label", "searchDescription" if search.description else ""),
            ("cs3", search.description or ""),
            *_cef_tenant(search),
        ],
    )


def cef_alert(alert: Alert) -> str:
    return _cef(
        f"alert:{alert.rule}",
        "Archive search alert",
        CEF_SEVERITY.get(alert.severity, 5),
        [
            ("rt", str(epoch_millis(alert.created_at))),
            ("externalId", alert.id),
            ("suser", alert.email_addr),
            ("msg", alert.summary),
            ("start", str(epoch_millis(alert.window_start))),
            ("end", str(epoch_millis(alert.window_end))),
            ("request", alert.evidence_url),
            ("cs1Label", "rule"),
            ("cs1", alert.rule),
            *_cef_tenant(alert),
        ],
    )


# --- OCSF --------------------------------------------------------------------------------


def _ocsf_metadata(uid: str, tenant: str) -> dict[str, Any]:
    return {
        "version": OCSF_VERSION,
        "uid": uid,
        "tenant_uid": tenant,
        "product": {"name": PRODUCT, "vendor_name": VENDOR},
        "log_name": "archive_search_logs",
    }


def _ocsf_user(address: str) -> dict[str, Any]:
    user: dict[str, Any] = {"email_addr": address}
    parts = split_address(address)
    if parts:
        user["name"], user["domain"] = parts
    return user


def ocsf_search(search: Search) -> dict[str, Any]:
    """Web Resources Activity (class 6001), activity Search (5): the searcher is the actor,
    the archive the web resource, the search's fields its `data`."""
    data = {
        name: value
        for name, value in (
            ("search_text", search.search_text),
            ("search_reason", search.search_reason),
            ("description", search.description),
            ("source", search.source),
            ("search_path", search.search_path),
        )
        if value
    }
    resource: dict[str, Any] = {"type": "Email archive", "name": "Mimecast archive"}
    if data:
        resource["data"] = data
    return {
        "activity_id": 5,
        "activity_name": "Search",
        "category_uid": 6,
        "category_name": "Application Activity",
        "class_uid": 6001,
        "class_name": "Web Resources Activity",
        "type_uid": 600105,
        "type_name": "Web Resources Activity: Search",
        "severity_id": 1,
        "severity": "Informational",
        "time": epoch_millis(search.create_time),
        "metadata": _ocsf_metadata(search.key, search.tenant),
        "actor": {"user": _ocsf_user(search.email_addr)},
        "web_resources": [resource],
        "message": search.search_text or "",
    }


def ocsf_alert(alert: Alert) -> dict[str, Any]:
    """Detection Finding (class 2004), activity Create (1)."""
    severity_id = SEVERITY_IDS.get(alert.severity, 3)
    return {
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": alert.severity.capitalize(),
        "status_id": 1,
        "status": "New",
        "time": epoch_millis(alert.created_at),
        "metadata": _ocsf_metadata(alert.id, alert.tenant),
        "finding_info": {
            "uid": alert.id,
            "title": alert.rule,
            "desc": alert.summary,
            "created_time": epoch_millis(alert.created_at),
            "first_seen_time": epoch_millis(alert.window_start),
            "last_seen_time": epoch_millis(alert.window_end),
            "src_url": alert.evidence_url,
            "analytic": {"name": alert.rule, "type_id": 1, "type": "Rule"},
        },
        "actor": {"user": _ocsf_user(alert.email_addr)},
        "message": alert.summary,
    }


# --- one encoder per format --------------------------------------------------------------

Encoder = Callable[[Search | Alert], bytes]


def _json(search_fn: Callable[[Search], Any], alert_fn: Callable[[Alert], Any]) -> Encoder:
    def encode(item: Search | Alert) -> bytes:
        return orjson.dumps(search_fn(item) if isinstance(item, Search) else alert_fn(item))

    return encode


def _cef_encoder(item: Search | Alert) -> bytes:
    return (cef_search(item) if isinstance(item, Search) else cef_alert(item)).encode()


ENCODERS: dict[str, Encoder] = {
    "ecs": _json(ecs_search, ecs_alert),
    "ocsf": _json(ocsf_search, ocsf_alert),
    "cef": _cef_encoder,
}
"""Every `format` a SIEM destination may name; chat formats are in `ingest.forward.notify`."""
