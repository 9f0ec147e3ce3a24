"""Signed export manifests (issue 18 §3): every audited CSV download is offered with a
manifest of the same audit row, signed with the installation's key, that
`python -m ingest verify-export` checks offline; a tampered CSV or manifest fails it, an
unusable key refuses CSV downloads. Two tenants searched by one address."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, text

from config.settings import SETTINGS
from config.signing import KeyProblem
from dashboard.audit import DownloadNotRecorded
from db.engine import open_database
from tests.support.apptest import deferred_files
from tests.support.harness import run_cli
from tests.support.roles import open_as
from tests.support.tenant_dashboard import SHARED_USER, fill_tenants, write_tenants_file

SAM = {"email": "sam@both.example"}  # a viewer of acme and globex


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "signing-key.pem"
    result = run_cli(["keys", "init"], {"SIGNING_KEY_FILE": str(path)}, tmp_path)
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def public_key(key_file: Path, tmp_path: Path) -> Path:
    shown = run_cli(["keys", "show"], {"SIGNING_KEY_FILE": str(key_file)}, tmp_path)
    path = tmp_path / "public.pem"
    path.write_text("".join(shown.stdout.splitlines(keepends=True)[1:]))
    return path


@pytest.fixture
def tenants_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_file: Path):
    monkeypatch.chdir(tmp_path)
    for spec in SETTINGS:
        monkeypatch.delenv(spec.name, raising=False)
    path = tmp_path / "dashboard.db"
    monkeypatch.setenv("DB_PATH", str(path))
    monkeypatch.setenv("TENANTS_FILE", str(write_tenants_file(tmp_path)))
    monkeypatch.setenv("SIGNING_KEY_FILE", str(key_file))
    st.cache_data.clear()
    st.cache_resource.clear()
    engine = open_database(f"sqlite:///{path}")
    fill_tenants(engine)
    yield engine
    engine.dispose()


def test_keys_init_makes_a_private_key_once_and_prints_only_its_public_key(
    key_file: Path, tmp_path: Path
) -> None:
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    again = run_cli(["keys", "init"], {"SIGNING_KEY_FILE": str(key_file)}, tmp_path)
    assert again.returncode == 0
    assert "(exists)" in again.stdout and "BEGIN PUBLIC KEY" in again.stdout
    assert "PRIVATE" not in again.stdout + again.stderr
    assert key_file.read_text() not in again.stdout


def export_files(tenants_db: Engine, monkeypatch: pytest.MonkeyPatch, tenant: str):
    """The shared address's CSV in `tenant` and its manifest, as a browser fetches them."""
    made = deferred_files(monkeypatch)
    at = open_as(SAM, "pages/user.py", tenant=tenant, email=SHARED_USER)
    buttons = {b.label: b.proto.deferred_file_id for b in at.download_button}
    csv_id = next(v for k, v in buttons.items() if k.endswith("(CSV)"))
    return made[csv_id](), made[buttons["Its manifest (signed)"]]()


def export_rows(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        statement = "SELECT id, tenant, actor, rows FROM audit_events WHERE action = 'export_csv'"
        return [tuple(row) for row in conn.execute(text(statement))]


def verify_export(folder: Path, csv: bytes, manifest: bytes, public_key: Path):
    (folder / "out.csv").write_bytes(csv)
    (folder / "out.manifest.json").write_bytes(manifest)
    args = ["verify-export", "out.csv", "out.manifest.json", "--public-key", str(public_key)]
    return run_cli(args, {}, folder)


def test_each_tenants_csv_carries_a_signed_manifest_of_its_own_audit_row(
    tenants_db: Engine, monkeypatch: pytest.MonkeyPatch, public_key: Path, tmp_path: Path
) -> None:
    acme_csv, acme_manifest = export_files(tenants_db, monkeypatch, "acme")
    globex_csv, globex_manifest = export_files(tenants_db, monkeypatch, "globex")
    rows = export_rows(tenants_db)
    assert [row[1:] for row in rows] == [("acme", SAM["email"], 2), ("globex", SAM["email"], 1)]
    for (audit_id, tenant, _, count), manifest in zip(
        rows, (acme_manifest, globex_manifest), strict=True
    ):
        fields = json.loads(manifest)
        assert (fields["audit_id"], fields["tenant"], fields["rows"]) == (audit_id, tenant, count)
        assert fields["exported_by"] == SAM["email"]
        assert fields["filters"]["user"] == [SHARED_USER] and fields["target"] == SHARED_USER
    assert b"acme one" in acme_csv and b"globex one" in globex_csv
    ok = verify_export(tmp_path, acme_csv, acme_manifest, public_key)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: out.csv is the file exported by sam@both.example")
    crossed = verify_export(tmp_path, globex_csv, acme_manifest, public_key)
    assert crossed.returncode == 1, "another tenant's CSV does not match acme's manifest"


@pytest.mark.slow  # eight child processes
def test_a_tampered_csv_or_manifest_fails_verification_in_one_line(
    tenants_db: Engine, monkeypatch: pytest.MonkeyPatch, public_key: Path, tmp_path: Path
) -> None:
    csv, manifest = export_files(tenants_db, monkeypatch, "acme")
    edited_csv = csv.replace(b"acme one", b"acme 0ne")
    fields = json.loads(manifest)
    fields["rows"] = 1
    edited_manifest = json.dumps(fields).encode()
    other_key = tmp_path / "other" / "key.pem"
    run_cli(["keys", "init"], {"SIGNING_KEY_FILE": str(other_key)}, tmp_path)
    other_public = tmp_path / "other.pem"
    shown = run_cli(["keys", "show"], {"SIGNING_KEY_FILE": str(other_key)}, tmp_path)
    other_public.write_text("".join(shown.stdout.splitlines(keepends=True)[1:]))
    for what, (c, m, key) in {
        "csv": (edited_csv, manifest, public_key),
        "manifest": (csv, edited_manifest, public_key),
        "key": (csv, manifest, other_public),
    }.items():
        result = verify_export(tmp_path, c, m, key)
        assert result.returncode == 1, what
        (line,) = result.stderr.splitlines()
        assert line.startswith("error: out.csv: "), line
    assert "SHA-256" in verify_export(tmp_path, edited_csv, manifest, public_key).stderr


def test_csv_and_manifest_made_in_either_order_share_one_audit_row(
    tenants_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = deferred_files(monkeypatch)
    at = open_as(SAM, "pages/user.py", tenant="acme", email=SHARED_USER)
    ids = {b.label: b.proto.deferred_file_id for b in at.download_button}
    csv_id = next(v for k, v in ids.items() if k.endswith("(CSV)"))
    manifest = made[ids["Its manifest (signed)"]]()  # the manifest first
    csv = made[csv_id]()
    assert json.loads(manifest)["audit_id"] == export_rows(tenants_db)[0][0]
    assert len(export_rows(tenants_db)) == 1
    assert b"acme one" in csv
    made[csv_id]()  # a second CSV is a second export
    assert len(export_rows(tenants_db)) == 2


@pytest.mark.parametrize("broken", ["garbage", "unreadable"])  # unreadable: a folder, even as root
def test_an_unusable_signing_key_refuses_csv_downloads(
    tenants_db: Engine, monkeypatch: pytest.MonkeyPatch, key_file: Path, broken: str
) -> None:
    made = deferred_files(monkeypatch)
    drawn = open_as(SAM, "pages/user.py", tenant="acme", email=SHARED_USER)
    csv_id = next(b for b in drawn.download_button if b.label.endswith("(CSV)")).proto
    if broken == "garbage":  # broken after the page was drawn: the file is still refused
        key_file.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    else:
        key_file.unlink()
        key_file.mkdir()
    with pytest.raises(KeyProblem):
        made[csv_id.deferred_file_id]()
    assert export_rows(tenants_db) == [], "nothing exported, nothing recorded"
    at = open_as(SAM, "pages/user.py", tenant="acme", email=SHARED_USER)
    (error,) = [e.value for e in at.error]
    assert error.startswith(f"SIGNING_KEY_FILE {key_file}: ") and "refused" in error
    assert next(b for b in at.download_button if b.label.endswith("(CSV)")).proto.disabled
    assert "Its manifest (signed)" not in [b.label for b in at.download_button]
    shown = run_cli(["keys", "show"], {"SIGNING_KEY_FILE": str(key_file)}, key_file.parent)
    assert shown.returncode == 2 and shown.stderr.startswith("error: SIGNING_KEY_FILE")
    assert "Traceback" not in shown.stderr


def test_a_refused_audit_entry_serves_neither_the_csv_nor_its_manifest(
    tenants_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = deferred_files(monkeypatch)
    at = open_as(SAM, "pages/user.py", tenant="acme", email=SHARED_USER)
    ids = {b.label: b.proto.deferred_file_id for b in at.download_button}
    with tenants_db.begin() as conn:
        conn.exec_driver_sql("DROP TABLE audit_events")
    with pytest.raises(DownloadNotRecorded):
        made[ids["Its manifest (signed)"]]()
