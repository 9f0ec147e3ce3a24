"""The tenants file (`config.tenants`): what it yields, how each mistake is refused in one
line naming the tenant and the key, and that no secret's value ever shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config.settings import ConfigError, load_settings
from config.tenants import Tenant, load_tenants

SECRET = "s3cr3t-acme-value"
BETA_SECRET = "s3cr3t-beta-value"
ENV = {"ACME_SECRET": SECRET, "ACME_ID": "acme-id-from-env"}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "tenants.md"

ACME = """
[[tenant]]
name = "acme"
client_id = "acme-id"
client_secret_env = "ACME_SECRET"
"""


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None, **settings: str):
    path = tmp_path / "tenants.toml"
    path.write_text(text, encoding="utf-8")
    loaded = load_settings({"TENANTS_FILE": str(path), **settings})
    return load_tenants(loaded, ENV if env is None else env)


def test_without_a_tenants_file_the_mimecast_settings_are_the_one_default_tenant():
    settings = load_settings(
        {
            "MIMECAST_CLIENT_ID": "the-id",
            "MIMECAST_CLIENT_SECRET": SECRET,
            "MIMECAST_BASE_URL": "http://127.0.0.1:8765",
            "INITIAL_BACKFILL_DAYS": "7",
            "LOOKBACK_SECONDS": "60",
            "RECONCILE_DAYS": "0",
        }
    )
    (tenant,) = load_tenants(settings, {})
    assert tenant.name == tenant.display_name == "default"
    assert tenant.base_url == "http://127.0.0.1:8765"
    assert tenant.require_credentials() == ("the-id", SECRET)
    assert (tenant.initial_backfill_days, tenant.lookback_seconds, tenant.reconcile_days) == (
        7,
        60,
        0,
    )
    assert tenant.admins == tenant.viewers == ()
    assert SECRET not in repr(tenant)


def test_default_tenant_without_credentials_loads_and_require_credentials_names_the_setting():
    (tenant,) = load_tenants(load_settings({"MIMECAST_CLIENT_ID": "the-id"}), {})
    with pytest.raises(ConfigError, match=r"^MIMECAST_CLIENT_SECRET is not set: "):
        tenant.require_credentials()


def test_a_tenants_file_gives_each_account_its_own_settings_in_file_order(tmp_path):
    (tmp_path / "beta.secret").write_text(BETA_SECRET + "\n")
    text = f"""
[[tenant]]
name = "acme"
display_name = "ACME Corp"
base_url = "https://uk-api.services.mimecast.com/"
client_id = "acme-id"
client_secret_env = "ACME_SECRET"
initial_backfill_days = 90
lookback_seconds = 600
reconcile_days = 1
admins = ["Boss@ACME.example"]
viewers = ["@acme.example", "auditor@partner.example"]

[[tenant]]
name = "beta_2"
client_id_env = "ACME_ID"
client_secret_file = "{tmp_path / "beta.secret"}"
"""
    acme, beta = _load(tmp_path, text, MIMECAST_BASE_URL="https://us-api.services.mimecast.com")
    assert acme == Tenant(
        name="acme",
        display_name="ACME Corp",
        base_url="https://uk-api.services.mimecast.com",
        client_id="acme-id",
        client_secret=SECRET,
        initial_backfill_days=90,
        lookback_seconds=600,
        reconcile_days=1,
        admins=("boss@acme.example",),
        viewers=("@acme.example", "auditor@partner.example"),
    )
    # What a table leaves out comes from the global settings.
    assert (beta.display_name, beta.base_url) == ("beta_2", "https://us-api.services.mimecast.com")
    assert (beta.initial_backfill_days, beta.lookback_seconds, beta.reconcile_days) == (30, 7200, 3)
    assert beta.require_credentials() == ("acme-id-from-env", BETA_SECRET)
    assert SECRET not in repr(acme) and BETA_SECRET not in repr(beta)


def test_the_documented_example_file_loads(tmp_path):
    example = re.search(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert example, "docs/tenants.md has no ```toml example"
    tenants = _load(tmp_path, example.group(1), env={})
    assert [tenant.name for tenant in tenants] == ["acme", "globex"]


@pytest.mark.parametrize(
    ("where", "env", "expected"),
    [
        ("ACME_SECRET", {}, "client_secret_env names ACME_SECRET, which is not set"),
        ("ACME_SECRET", {"ACME_SECRET": "  "}, "client_secret_env names ACME_SECRET, which is"),
        ("missing.secret", ENV, "client_secret_file cannot be read: No such file"),
        ("empty.secret", ENV, "client_secret_file is empty"),
    ],
)
def test_a_secret_that_is_not_there_stops_only_who_needs_it(
    tmp_path, monkeypatch, where, env, expected
):
    monkeypatch.chdir(tmp_path)  # a relative *_file is read from the working folder
    (tmp_path / "empty.secret").write_text("\n")
    key = "client_secret_env" if where == "ACME_SECRET" else "client_secret_file"
    text = f'[[tenant]]\nname = "acme"\nclient_id = "id"\n{key} = "{where}"\n'
    (tenant,) = _load(tmp_path, text, env)  # the dashboard needs no Mimecast secret
    assert tenant.client_secret is None
    with pytest.raises(ConfigError) as caught:
        tenant.require_credentials()  # the ingest does
    assert str(caught.value).startswith(f"TENANTS_FILE: tenant 'acme': {expected}")


TABLE = '[[tenant]]\nname = "acme"\nclient_id = "id"\nclient_secret_env = "ACME_SECRET"\n'
BAD_FILES = {
    "not_toml": (f"{TABLE}initial_backfill_days = {SECRET}\n", "is not valid TOML: "),
    "unknown_top_level_key": (f"{TABLE}[forward]\nx = 1\n", "unknown key 'forward' in "),
    "one_table_not_an_array": ('[tenant]\nname = "acme"\n', "as a [[tenant]] table in "),
    "zero_tenants": ("# nothing yet\n", "defines no tenant"),
    "unknown_key": (f'{TABLE}client_secrt = "{SECRET}"\n', "tenant 'acme': unknown key"),
    "inline_client_secret": (
        f'[[tenant]]\nname = "acme"\nclient_id = "id"\nclient_secret = "{SECRET}"\n',
        "tenant 'acme': client_secret must not be written in the file",
    ),
    "duplicate_name": (TABLE + TABLE, "tenant 'acme': name is used twice"),
    "names_differing_in_case": (
        TABLE + TABLE.replace('"acme"', '"ACME"'),
        "tenant 'ACME': name differs from 'acme' only in case",
    ),
    "missing_name": (TABLE.replace('name = "acme"\n', ""), "tenant #1: name must be 1 to 64"),
    "empty_entry": (f'{TABLE}admins = [""]\n', "tenant 'acme': admins must hold one e-mail"),
    "bad_name": (
        TABLE.replace('"acme"', '"ac me"'),
        "tenant #1: name must be 1 to 64 letters, digits, '-' or '_', got 'ac me'",
    ),
    "name_not_a_string": (TABLE.replace('"acme"', "7"), "tenant #1: name must be"),
    "no_secret_source": (
        '[[tenant]]\nname = "acme"\nclient_id = "id"\n',
        "tenant 'acme': client_secret needs client_secret_env or client_secret_file",
    ),
    "two_secret_sources": (
        f'{TABLE}client_secret_file = "/run/secrets/acme"\n',
        "tenant 'acme': client_secret needs exactly one of client_secret_env or",
    ),
    "no_client_id": (
        '[[tenant]]\nname = "acme"\nclient_secret_env = "ACME_SECRET"\n',
        "tenant 'acme': client_id needs client_id or client_id_env",
    ),
    "secret_env_not_a_string": (
        '[[tenant]]\nname = "acme"\nclient_id = "id"\nclient_secret_env = 5\n',
        "tenant 'acme': client_secret_env must be a non-empty string",
    ),
    "secret_written_as_the_variable_name": (
        f'[[tenant]]\nname = "acme"\nclient_id = "id"\nclient_secret_env = "{SECRET}"\n',
        "tenant 'acme': client_secret_env must name an environment variable: A-Z, 0-9 and '_'",
    ),
    "url_without_scheme": (
        f'{TABLE}base_url = "api.services.mimecast.com"\n',
        "tenant 'acme': base_url must be an http(s) URL",
    ),
    "url_plain_http_to_a_remote_host": (
        f'{TABLE}base_url = "http://api.services.mimecast.com"\n',
        "tenant 'acme': base_url must use https for api.services.mimecast.com",
    ),
    "url_with_a_password": (
        f'{TABLE}base_url = "ftp://me:{SECRET}@api.example"\n',
        "tenant 'acme': base_url must be an http(s) URL",
    ),
    "number_in_quotes": (
        f'{TABLE}initial_backfill_days = "30"\n',
        "tenant 'acme': initial_backfill_days must be a whole number from 1 to 3650",
    ),
    "number_out_of_range": (
        f"{TABLE}lookback_seconds = 99999999\n",
        "tenant 'acme': lookback_seconds must be at most 2592000",
    ),
    "number_a_boolean": (f"{TABLE}reconcile_days = true\n", "tenant 'acme': reconcile_days must"),
    "display_name_not_a_string": (f"{TABLE}display_name = 5\n", "tenant 'acme': display_name"),
    "display_name_with_a_control_character": (
        f'{TABLE}display_name = "ACME\\u001b[2J"\n',
        "tenant 'acme': display_name must be at most 100 printable characters",
    ),
    "base_url_not_a_string": (
        f"{TABLE}base_url = 443\n",
        "tenant 'acme': base_url must be a non-empty string",
    ),
    "id_variable_not_a_conventional_name": (
        '[[tenant]]\nname = "acme"\nclient_id_env = "acme id"\nclient_secret_env = "S"\n',
        "tenant 'acme': client_id_env must name an environment variable",
    ),
    "admins_a_string": (f'{TABLE}admins = "boss@acme.example"\n', "tenant 'acme': admins must"),
    "admins_comma_separated": (
        f'{TABLE}admins = ["a@acme.example,b@acme.example"]\n',
        "tenant 'acme': admins must hold one e-mail address or @domain entry per string",
    ),
    "viewer_outside_ascii": (
        f'{TABLE}viewers = ["\\u212aate@acme.example"]\n',
        "tenant 'acme': viewers must hold one e-mail address or @domain entry per string, "
        "in ASCII (a domain as xn--… if internationalised), got '\\u212aate@acme.example'",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_a_bad_tenants_file_is_one_line_naming_the_tenant_and_the_key(tmp_path, case):
    text, expected = BAD_FILES[case]
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    message = str(caught.value)
    assert message.startswith("TENANTS_FILE: "), message
    assert expected in message
    assert "\n" not in message
    assert SECRET not in message


def test_a_secret_written_as_the_secret_file_path_is_not_echoed(tmp_path):
    text = f'[[tenant]]\nname = "acme"\nclient_id = "id"\nclient_secret_file = "{SECRET}"\n'
    (tenant,) = _load(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        tenant.require_credentials()
    assert str(caught.value).startswith("TENANTS_FILE: tenant 'acme': client_secret_file cannot")
    assert SECRET not in str(caught.value) and SECRET not in repr(tenant)


def test_an_unreadable_or_binary_tenants_file_is_one_line(tmp_path):
    settings = load_settings({"TENANTS_FILE": str(tmp_path / "absent.toml")})
    with pytest.raises(ConfigError, match=r"^TENANTS_FILE: cannot read .*absent\.toml: No such"):
        load_tenants(settings, ENV)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'[[tenant]]\nname = "\xff"\n')
    with pytest.raises(ConfigError, match=r"^TENANTS_FILE: .*binary\.toml is not UTF-8 text$"):
        load_tenants(load_settings({"TENANTS_FILE": str(binary)}), ENV)


@pytest.mark.parametrize("name", ["MIMECAST_CLIENT_ID", "MIMECAST_CLIENT_SECRET"])
def test_a_tenants_file_next_to_mimecast_credentials_is_refused(tmp_path, name):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, ACME, **{name: SECRET})
    message = str(caught.value)
    assert message.startswith(f"TENANTS_FILE and {name} are both set: ")
    assert SECRET not in message


def test_blank_mimecast_credentials_next_to_a_tenants_file_are_no_conflict(tmp_path):
    # .env.example's empty `MIMECAST_CLIENT_ID=` lines must not stop an upgrade.
    (tenant,) = _load(tmp_path, ACME, MIMECAST_CLIENT_ID="", MIMECAST_CLIENT_SECRET=" ")
    assert tenant.require_credentials() == ("acme-id", SECRET)
