"""The machine API's CSV answers carry a signed manifest like the pages' downloads (issue 18
§3, docs/evidence.md): the `Export-Manifest` header, of the call's own audit row, that
`python -m ingest verify-export` checks offline; JSON and 304 answers carry none; an
unusable key refuses CSV answers (fail closed). Over real HTTP against the dashboard's
server, two tenants whose data differ, one address searching in both."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from tests.support.browser import serve_dashboard, stop_dashboard
from tests.support.harness import run_cli
from tests.support.tenant_api import RANGE, SHARED, Served, three_tenants_database

pytestmark = pytest.mark.slow  # four tokens made and five verify-export runs, as children

HEADER = "Export-Manifest"
USERS = "/api/v1/users"  # one of the CSV answers; SHARED is a row in both tenants


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("t_api_manifests")
    key = folder / "keys" / "signing-key.pem"
    made = run_cli(["keys", "init"], {"SIGNING_KEY_FILE": str(key)}, folder)
    assert made.returncode == 0, made.stderr
    public = "".join(made.stdout.splitlines(keepends=True)[1:])
    assert "BEGIN PUBLIC KEY" in public
    (folder / "public.pem").write_text(public)
    env, engine, tokens = three_tenants_database("sqlite", folder, "t_api_manifests")
    env["SIGNING_KEY_FILE"] = str(key)
    base, process = serve_dashboard(env, folder / "server.log")
    try:
        yield Served(base, engine, env, folder, tokens)
    finally:
        stop_dashboard(process)
        engine.dispose()


def csv_answer(served: Served, tenant: str, **headers: str) -> requests.Response:
    asked = {"Authorization": f"Bearer {served.tokens[tenant]}", "Accept": "text/csv"}
    return requests.get(served.base + USERS, headers={**asked, **headers}, params=RANGE, timeout=60)


def last_row(served: Served, actor: str) -> tuple:
    with served.engine.connect() as conn:
        statement = "SELECT id, tenant, action, rows FROM audit_events WHERE actor = :a"
        rows = conn.execute(text(statement + " ORDER BY id DESC"), {"a": actor}).all()
    return tuple(rows[0])


def verify(served: Served, body: bytes, manifest: bytes) -> object:
    (served.folder / "answer.csv").write_bytes(body)
    (served.folder / "answer.manifest").write_bytes(manifest)
    args = ["verify-export", "answer.csv", "answer.manifest", "--public-key", "public.pem"]
    return run_cli(args, {}, served.folder)


def test_api_csv_answers_carry_a_signed_manifest_of_their_own_audit_row(served: Served) -> None:
    got = {}
    for tenant, actor in (("acme", "acme-reader"), ("globex", "globex-admin")):
        reply = csv_answer(served, tenant)
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
        fields = json.loads(base64.b64decode(reply.headers[HEADER]))
        audit_id, _, action, rows = last_row(served, actor)
        assert (fields["audit_id"], fields["tenant"], fields["rows"]) == (audit_id, tenant, rows)
        assert fields["action"] == action and fields["exported_by"] == actor
        assert rows == reply.content.count(b"\r\n") - 1  # the header line
        assert fields["filters"]["from"] == RANGE["from"] and SHARED.encode() in reply.content
        assert fields["file"].startswith(USERS + "?")
        got[tenant] = (reply.content, reply.headers[HEADER].encode())
    assert b"ann@acme.example" in got["acme"][0] and b"gus@globex" in got["globex"][0]
    ok = verify(served, *got["acme"])
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: answer.csv is the file exported by acme-reader")
    crossed = verify(served, got["globex"][0], got["acme"][1])
    assert crossed.returncode == 1 and len(crossed.stderr.strip().splitlines()) == 1
    tampered = verify(served, got["acme"][0].replace(b"ann@acme", b"ann@acmf"), got["acme"][1])
    assert tampered.returncode == 1, "a changed CSV fails its manifest"
    saved = f"{HEADER}: ".encode() + got["globex"][1] + b"\r\n"  # as curl -D writes it
    assert verify(served, got["globex"][0], saved).returncode == 0


def test_json_and_not_modified_answers_carry_no_manifest(served: Served) -> None:
    plain = served.get(USERS, served.tokens["acme"], **RANGE)
    assert plain.status_code == 200 and HEADER not in plain.headers
    first = csv_answer(served, "acme")
    again = csv_answer(served, "acme", **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and HEADER not in again.headers


def test_an_unusable_key_refuses_csv_answers_and_still_serves_json(served: Served) -> None:
    key = Path(served.env["SIGNING_KEY_FILE"])
    kept = key.read_bytes()
    before = last_row(served, "acme-reader")
    try:
        key.write_text("not a key\n")
        refused = csv_answer(served, "acme")
        assert refused.status_code == 503 and HEADER not in refused.headers
        detail = refused.json()["detail"]
        assert "signing key cannot be used" in detail and str(key) not in detail
        assert b"ann@acme" not in refused.content
        assert last_row(served, "acme-reader") == before  # nothing served, nothing recorded
        assert served.get(USERS, served.tokens["acme"], **RANGE).status_code == 200
    finally:
        key.write_bytes(kept)
    assert csv_answer(served, "acme").status_code == 200
