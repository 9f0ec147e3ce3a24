"""The sign-in's OIDC client secret from a mounted file: Docker and Kubernetes deliver
`.streamlit/secrets.toml` as a secret, and `STREAMLIT_SECRETS_FILES` (Streamlit's
`secrets.files`) names it (docs/deployment.md, Secrets). Kubernetes mounts a Secret's key
as a symlink into a hidden `..data/` folder it swaps on update; the file is read through
it, a mount that is missing or points at the folder closes the dashboard with one line,
and the secret is never repeated.

Real files, read by Streamlit's own secrets reader, decided by `dashboard.notices`; the
signed-in browser test (tests/test_auth_browser.py) signs in end to end with the file.
"""

from __future__ import annotations

from pathlib import Path

from streamlit import config as st_config
from streamlit.runtime.secrets import Secrets

from dashboard.notices import SignInSetup, sign_in_setup
from dashboard.secrets_check import unreadable_secrets

CLIENT_SECRET = "oidc-client-secret-from-a-mounted-file"
AUTH = (
    "[auth]\n"
    'redirect_uri = "http://localhost:8501/oauth2callback"\n'
    'cookie_secret = "a-cookie-secret-from-a-mounted-file"\n'
    'client_id = "dashboard"\n'
    f'client_secret = "{CLIENT_SECRET}"\n'
    'server_metadata_url = "http://localhost:9/.well-known/openid-configuration"\n'
)


def kubernetes_secret_volume(root: Path, text: str) -> Path:
    """A folder laid out as the kubelet mounts a Secret: `secrets.toml -> ..data/secrets.toml`,
    `..data -> ..<timestamp>/`, the file read-only."""
    version = root / "..2026_12_06_17_00_00.000000001"
    version.mkdir(parents=True)
    (version / "secrets.toml").write_text(text, "utf-8")
    (version / "secrets.toml").chmod(0o400)
    (root / "..data").symlink_to(version.name)
    (root / "secrets.toml").symlink_to("..data/secrets.toml")
    return root / "secrets.toml"


def read_as_the_dashboard(entry: Path, *access_lists: str) -> tuple[SignInSetup, dict]:
    """The dashboard's decision and Streamlit's secrets, with `secrets.files = [entry]`."""
    previous = st_config.get_option("secrets.files")
    st_config.set_option("secrets.files", [str(entry)])
    try:
        secrets = Secrets()
        setup = sign_in_setup(secrets, [str(entry)], list(access_lists))
        values = secrets.to_dict() if setup.mode == "sign_in" else {}
        return setup, values
    finally:
        st_config.set_option("secrets.files", previous)


def test_the_oidc_client_secret_is_read_from_a_kubernetes_secret_file(tmp_path: Path) -> None:
    mounted = kubernetes_secret_volume(tmp_path / "streamlit-auth", AUTH)

    setup, values = read_as_the_dashboard(mounted, "ADMIN_EMAILS")

    assert setup == SignInSetup("sign_in", providers=(None,))
    assert values["auth"]["client_secret"] == CLIENT_SECRET
    assert unreadable_secrets([mounted]) is None


def test_a_missing_secrets_mount_closes_the_dashboard_in_one_line(tmp_path: Path) -> None:
    """The Secret was not mounted (or the kubelet's `..data` link points nowhere): the
    access lists are set, so the dashboard stays closed, naming the file."""
    absent = tmp_path / "streamlit-auth" / "secrets.toml"
    dangling = tmp_path / "dangling"
    dangling.mkdir()
    (dangling / "secrets.toml").symlink_to("..data/secrets.toml")

    for entry in (absent, dangling / "secrets.toml"):
        setup, _ = read_as_the_dashboard(entry, "ADMIN_EMAILS")
        assert setup.mode == "broken", entry
        problem = setup.problem or ""
        assert "\n" not in problem and str(entry) in problem
        assert problem.startswith("ADMIN_EMAILS is set, but sign-in is not configured")


def test_naming_the_mount_folder_instead_of_the_file_closes_the_dashboard(
    tmp_path: Path,
) -> None:
    """Streamlit reads a folder in `secrets.files` as one secret per subfolder, so the
    folder of a mounted secrets.toml is refused, in one line, without its content."""
    folder = kubernetes_secret_volume(tmp_path / "streamlit-auth", AUTH).parent

    setup, _ = read_as_the_dashboard(folder, "ADMIN_EMAILS")

    problem = setup.problem or ""
    assert setup.mode == "broken"
    assert problem.startswith("The secrets file is broken: ") and "\n" not in problem
    assert "is not a folder" in problem
    assert CLIENT_SECRET not in problem and "a-cookie-secret" not in problem


def test_an_unreadable_mounted_secrets_file_is_named_without_its_secret(tmp_path: Path) -> None:
    """Not UTF-8 (the Secret created from the wrong file): the start is stopped with one
    line naming the file, never its content."""
    mounted = kubernetes_secret_volume(tmp_path / "streamlit-auth", AUTH)
    mounted.resolve().chmod(0o600)
    mounted.resolve().write_bytes(AUTH.encode("utf-8").replace(b'"dashboard"', b'"\xff"'))

    problem = unreadable_secrets([mounted]) or ""

    assert problem.startswith(f"Cannot read the secrets file {mounted}: it is not UTF-8 text")
    assert "\n" not in problem and CLIENT_SECRET not in problem
