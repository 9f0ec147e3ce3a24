"""The Dockerfile runs the commands the rest of the suite exercises (docker-compose.yml:
tests/test_compose.py).

No Docker engine runs here, so the image's own commands are run directly: the dashboard
command from `CMD`, then the `HEALTHCHECK` against it, and the compose services' commands.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import urllib.error
import urllib.request

from tests.support.runtime import PROJECT_ROOT, runtime_python, subprocess_env
from tests.support.truth import wait_until

DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()


def exec_form(instruction: str) -> list[str]:
    """The JSON exec form of a Dockerfile instruction (`CMD [...]`), continuation lines joined."""
    text = DOCKERFILE.replace("\\\n", " ")
    lines = [line for line in text.splitlines() if line.startswith(instruction + " ")]
    assert lines, f"no {instruction} in the Dockerfile"
    return json.loads(lines[-1].split("CMD", 1)[1].strip())


def with_port(args: list[str], port: int) -> list[str]:
    """The image's command with the runtime virtualenv's Python (the image installs only
    requirements.txt too) and a free port."""
    python = runtime_python()
    return [python if arg == "python" else arg.replace("8501", str(port)) for arg in args]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_image_runs_as_a_non_root_user_on_a_slim_base():
    assert re.search(r"^FROM python:3\.\d+-slim", DOCKERFILE, re.M)
    assert re.search(r"^USER app$", DOCKERFILE, re.M)


def test_the_image_has_one_cmd_the_dashboard():
    cmds = [line for line in DOCKERFILE.splitlines() if line.startswith("CMD ")]
    assert len(cmds) == 1, cmds
    assert exec_form("CMD")[1:4] == ["-m", "streamlit", "run"]


def test_the_dashboards_healthcheck_is_liveness_and_passes_while_the_ingest_is_behind(
    tmp_path,
):
    """The health check asks `/healthz`: healthy as soon as the server answers, with no
    poll ever finished (a first backfill, an ingest outage), and failing once it is gone.
    `/readyz` would pull the dashboard out of service exactly then."""
    port = free_port()
    env = subprocess_env({"DB_PATH": str(tmp_path / "searchlogs.db")})
    server = subprocess.Popen(
        with_port(exec_form("CMD"), port),
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    healthcheck = with_port(exec_form("HEALTHCHECK"), port)
    assert healthcheck[-1].endswith("/healthz")

    def healthcheck_status() -> int:
        return subprocess.run(healthcheck, capture_output=True, timeout=10, env=env).returncode

    try:
        assert wait_until(lambda: _answers(port), timeout=60, step=0.5)
        assert healthcheck_status() == 0, "no poll has finished, yet the server is alive"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as reply:
            raise AssertionError(f"/readyz answered {reply.status} with no poll finished")
    except urllib.error.HTTPError as error:
        assert error.code == 503  # not ready: what the ingest's own check and alerts use
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert healthcheck_status() != 0


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def docker_ignores(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves `path` out of the build context, by its rules: patterns in
    order, the last one that matches the path (or a folder above it) wins, `!` re-includes,
    `*` stays within one folder and `**` crosses folders."""
    ignored = False
    parts = path.split("/")
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        regex = re.escape(pattern.strip("/"))
        regex = regex.replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            ignored = not negate
    return ignored


def test_docker_context_leaves_out_every_secret_file_but_keeps_the_example():
    lines = (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for secret in (
        ".env",
        ".env.local",
        ".env.production",
        ".env.bak",
        ".streamlit/secrets.toml",
        "secrets/mimecast_client_secret",
    ):
        assert docker_ignores(secret, patterns), secret
    for kept in (".env.example", ".streamlit/config.toml", "streamlit_app.py", "ingest/cli.py"):
        assert not docker_ignores(kept, patterns), kept


def test_the_image_installs_the_runtime_lock_with_hashes_checked():
    installs = [line for line in DOCKERFILE.splitlines() if line.startswith("RUN pip install")]
    assert installs == [
        "RUN pip install --require-hashes -r requirements.lock",
        "RUN pip install --no-deps -e .",
    ]
    assert re.search(r"^COPY requirements\.lock \.$", DOCKERFILE, re.M)
