"""The client's HTTP session: proxy and CA settings from the environment apply to the API,
and a ~/.netrc password never replaces the bearer token."""

from __future__ import annotations

import requests

from ingest.client import MimecastClient

API = "https://api.services.mimecast.com"
SEARCH = f"{API}/api/archive/get-archive-search-logs"


def effective_settings(client: MimecastClient, url: str) -> dict:
    """What the session will use for a request to `url` (proxies, verify, cert)."""
    return client._session.merge_environment_settings(url, {}, None, None, None)


def test_a_proxy_from_the_environment_is_used_for_the_api(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.net:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = MimecastClient(API, "id", "secret")
    assert effective_settings(client, SEARCH)["proxies"]["https"] == "http://proxy.example.net:3128"


def test_no_proxy_in_the_environment_keeps_the_api_host_direct(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.net:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = MimecastClient("http://127.0.0.1:8765", "id", "secret")
    assert "http" not in effective_settings(client, "http://127.0.0.1:8765/oauth/token")["proxies"]


def test_a_ca_bundle_from_the_environment_is_used(monkeypatch, tmp_path):
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    client = MimecastClient(API, "id", "secret")
    assert effective_settings(client, SEARCH)["verify"] == str(bundle)


def test_a_netrc_password_is_never_sent_in_place_of_the_token(monkeypatch, tmp_path):
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine api.services.mimecast.com login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client = MimecastClient(API, "id", "secret")
    request = client._session.prepare_request(
        requests.Request("POST", SEARCH, headers={"Authorization": "Bearer t"})
    )
    assert request.headers["Authorization"] == "Bearer t"
