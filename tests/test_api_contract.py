"""The machine API's contract over real HTTP: the committed `docs/openapi.json` is the
generated one and valid OpenAPI 3.1, every answer in every format matches its schema,
paged answers link their next page, and an unchanged answer is a 304 without a body.

Two tenants whose data differ (`tests/support/tenant_api.py`, plus the mailbox targets of
`tests/support/targets.py`), with SHARED searching in both, behind a real server."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from api.openapi import document_text, main
from api.routes import NOT_MODIFIED
from db.models import AuditEvent
from tests.support.builders import record, store_records
from tests.support.deployment import dashboard
from tests.support.targets import SHARED_BOX, TWO_TENANTS
from tests.support.tenant_api import (
    BACKENDS,
    METRICS_TOKEN,
    RANGE,
    SHARED,
    Served,
    texts,
    three_tenants_database,
    three_tenants_served,
)

COMMITTED = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
CSV = "text/csv"
NDJSON = "application/x-ndjson"


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp(f"contract-{request.param}")
    with three_tenants_served(request.param, folder, "t_api_contract") as served:
        for tenant, records in TWO_TENANTS.items():  # mailbox targets, so none is listed empty
            store_records(served.engine, records, tenant=tenant)
        yield served


def test_the_committed_openapi_document_is_the_one_the_code_generates(tmp_path: Path) -> None:
    assert COMMITTED.read_text(encoding="utf-8") == document_text(), (
        "docs/openapi.json is stale: python -m api.openapi --write docs/openapi.json"
    )
    stale = tmp_path / "openapi.json"
    stale.write_text(document_text().replace('"3.1.0"', '"3.0.0"'), encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    assert main(["--check", str(COMMITTED)]) == 0


def test_the_openapi_document_is_valid_openapi_3_1() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    validate(document)  # raises on anything that is not OpenAPI 3.1
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            ok = operation["responses"]["200"]
            assert all("schema" in media for media in ok["content"].values()), (method, path)


def test_the_served_openapi_document_is_the_committed_one(served: Served) -> None:
    reply = served.get("/api/v1/openapi.json", served.tokens["acme"])
    assert reply.json() == json.loads(COMMITTED.read_text(encoding="utf-8"))


def _validator(name: str) -> Draft202012Validator:
    """A JSON Schema validator for the document's schema `name`, its $refs resolved."""
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    registry = Registry().with_resource("urn:api", DRAFT202012.create_resource(document))
    schema = {"$ref": f"urn:api#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=registry)


def _operation(path: str, status: int = 200) -> dict[str, object]:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    return document["paths"][path]["get"]["responses"][str(status)]["content"]


def _check(reply: requests.Response, path: str, status: int = 200) -> int:
    """`reply` against the schema of its format in the document; how many rows it held."""
    assert reply.status_code == status, reply.text
    media = reply.headers["content-type"].split(";")[0]
    content = _operation(path, status)[media]
    if media == "application/json":
        name = content["schema"]["$ref"].rsplit("/", 1)[1]
        body = reply.json()
        _validator(name).validate(body)
        lists = [v for v in body.values() if isinstance(v, list)] if isinstance(body, dict) else []
        return max((len(v) for v in lists), default=1)
    if media == NDJSON:
        row = _validator(content["x-itemSchema"]["$ref"].rsplit("/", 1)[1])
        lines = reply.text.splitlines()
        for line in lines:
            row.validate(json.loads(line))
        return len(lines)
    header = next(csv.reader(io.StringIO(reply.text)))
    assert f"header `{','.join(header)}`" in content["schema"]["description"]
    return reply.text.count("\n") - 1


DATA = {  # endpoint path template -> the concrete path asked and its formats
    "/api/v1/searches-per-day": ("/api/v1/searches-per-day", (None, CSV), RANGE),
    "/api/v1/users": ("/api/v1/users", (None, CSV), RANGE),
    "/api/v1/users/{email}/searches": (f"/api/v1/users/{SHARED}/searches", (None, NDJSON), RANGE),
    "/api/v1/days/{date}/searches": (
        "/api/v1/days/2026-11-03/searches",
        (None, NDJSON),
        {"tz": "UTC"},
    ),
    "/api/v1/alerts": ("/api/v1/alerts", (None, NDJSON, CSV), {}),
    "/api/v1/mailboxes": ("/api/v1/mailboxes", (None, CSV), RANGE),
    "/api/v1/mailboxes/{addr}/searches": (
        f"/api/v1/mailboxes/{SHARED_BOX}/searches",
        (None, NDJSON, CSV),
        RANGE,
    ),
}


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_every_answer_matches_its_schema_in_every_format(served: Served, tenant: str) -> None:
    token = served.tokens[tenant]
    for template, (path, formats, params) in DATA.items():
        for media in formats:
            headers = {"Authorization": f"Bearer {token}", **({"Accept": media} if media else {})}
            reply = requests.get(served.base + path, headers=headers, params=params, timeout=60)
            assert _check(reply, template) > 0, (tenant, path, media)  # no vacuous check
    health = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    _check(requests.get(served.base + "/healthz", headers=health, timeout=60), "/healthz")
    not_ready = requests.get(served.base + "/readyz", headers=health, timeout=60)
    _check(not_ready, "/readyz", 503)  # initech has never been polled


def _walk(served: Served, tenant: str, first: str) -> tuple[list[str], list[str]]:
    """The search texts of every page from `first` on, following `Link: rel="next"`; and
    the next links seen."""
    seen, links, url = [], [], served.base + first
    while url:
        reply = requests.get(
            url, headers={"Authorization": f"Bearer {served.tokens[tenant]}"}, timeout=60
        )
        assert reply.status_code == 200, reply.text
        seen += [row["search_text"] for row in reply.json()["searches"]]
        following = reply.links.get("next", {}).get("url")
        assert (following is None) == ("Next-Cursor" not in reply.headers)
        if following:
            links.append(following)
            assert (
                dict(parse_qsl(urlsplit(following).query))["cursor"]
                == (reply.headers["Next-Cursor"])
            )
        url = urljoin(url, following) if following else ""
    return seen, links


def test_a_paged_answer_links_its_next_page_keeping_the_other_parameters(served: Served) -> None:
    first = f"/api/v1/users/{SHARED}/searches?from=2026-11-01&to=2026-11-05&tz=UTC&limit=1"
    for tenant in ("acme", "globex"):
        seen, links = _walk(served, tenant, first)
        assert seen == texts(tenant, email=SHARED)  # every page once, only its tenant's
        assert len(links) == len(seen) - 1
        for link in links:
            assert link.startswith(f"/api/v1/users/{SHARED}/searches?")
            kept = parse_qsl(urlsplit(link).query)
            assert [pair for pair in kept if pair[0] != "cursor"] == [
                ("from", "2026-11-01"),
                ("to", "2026-11-05"),
                ("tz", "UTC"),
                ("limit", "1"),
            ]


def test_the_next_link_keeps_the_base_path_the_call_was_made_under(tmp_path: Path) -> None:
    """Under `server.baseUrlPath` the link names the path as the caller sent it."""
    env, engine, tokens = three_tenants_database("sqlite", tmp_path, "t_contract_base")
    first = f"/api/v1/users/{SHARED}/searches?from=2026-11-01&to=2026-11-05&tz=UTC&limit=2"
    try:
        with dashboard(env, tmp_path, base_path="searchlogs") as app:
            moved = Served(app.url, engine, env, tmp_path, tokens)
            for tenant in ("acme", "globex"):
                seen, links = _walk(moved, tenant, first)
                assert seen == texts(tenant, email=SHARED) and links
                assert all(link.startswith(f"/searchlogs/api/v1/users/{SHARED}/") for link in links)
    finally:
        engine.dispose()


def _audited(served: Served, actor: str) -> tuple[object, ...]:
    with served.engine.connect() as conn:
        row = conn.execute(
            select(AuditEvent.tenant, AuditEvent.action, AuditEvent.rows, AuditEvent.detail)
            .where(AuditEvent.actor == actor)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).one()
    return tuple(row)


def _users(served: Served, tenant: str, tag: str | None = None, media: str | None = None):
    headers = {"Authorization": f"Bearer {served.tokens[tenant]}"}
    if tag:
        headers["If-None-Match"] = tag
    if media:
        headers["Accept"] = media
    return requests.get(served.base + "/api/v1/users", headers=headers, params=RANGE, timeout=60)


def test_an_unchanged_answer_is_a_304_without_a_body_and_audited_with_0_rows(
    served: Served,
) -> None:
    acme, globex = _users(served, "acme"), _users(served, "globex")
    tag = acme.headers["ETag"]
    assert tag != globex.headers["ETag"]
    assert tag != _users(served, "acme", media=CSV).headers["ETag"]  # another format

    again = _users(served, "acme", tag)
    assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", tag)
    assert _audited(served, "acme-reader") == ("acme", "api_users", 0, NOT_MODIFIED)
    assert _users(served, "acme", f'W/{tag}, "other"').status_code == 304  # weak, in a list
    # Another tenant's tag is no match, even for the same address and URL.
    assert _users(served, "globex", tag).status_code == 200
    assert _audited(served, "globex-admin")[2] == len(globex.json()["users"])

    globex_tag = globex.headers["ETag"]
    later = [record("2026-11-04T08:00:00", "late@acme.example", searchText="acme-later")]
    store_records(served.engine, later, tenant="acme")
    changed = _users(served, "acme", tag)
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert "late@acme.example" in {u["email"] for u in changed.json()["users"]}
    assert _users(served, "globex", globex_tag).status_code == 304  # its answer did not change
