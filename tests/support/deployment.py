"""The dashboard as a deployment runs it: under a base path, behind nginx, its stderr kept
apart from its stdout so that each log line can be read on its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.browser import free_port, stop_dashboard
from tests.support.runtime import PROJECT_ROOT, runtime_python, subprocess_env
from tests.support.truth import wait_until

NGINX_EXAMPLE = PROJECT_ROOT / "deploy" / "nginx" / "searchlogs.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Served:
    url: str  # the dashboard's own address, base path included
    port: int
    process: subprocess.Popen
    stderr: Path


def answers(url: str, headers: dict[str, str] | None = None) -> int | None:
    """The HTTP status `url` answers with, None while nothing listens."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=3):
            return 200
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


@contextmanager
def dashboard(env: dict[str, str], folder: Path, base_path: str = "") -> Iterator[Served]:
    """`streamlit run streamlit_app.py` from RUNTIME_PYTHON on a free loopback port, with
    `server.baseUrlPath` set to `base_path`; yields once its health route answers."""
    port = free_port()
    prefix = f"/{base_path}" if base_path else ""
    stderr = folder / "dashboard.stderr"
    command = [runtime_python(), "-m", "streamlit", "run", "streamlit_app.py"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    command += ["--server.headless", "true", "--server.fileWatcherType", "none"]
    command += ["--server.baseUrlPath", base_path]
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=subprocess_env(env),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    url = f"http://127.0.0.1:{port}{prefix}"
    try:
        up = wait_until(
            lambda: process.poll() is not None or answers(f"{url}/_stcore/health") == 200,
            timeout=60,
            step=0.2,
        )
        assert up and process.poll() is None, stderr.read_text()[-3000:]
        yield Served(url, port, process, stderr)
    finally:
        stop_dashboard(process)


@contextmanager
def nginx_in_front(upstream_port: int, folder: Path) -> Iterator[str]:
    """deploy/nginx/searchlogs.conf as shipped, its upstream and listening port pointed at
    this test's, inside the smallest nginx.conf; yields the proxy's base URL."""
    port = free_port()
    site = NGINX_EXAMPLE.read_text(encoding="utf-8")
    assert "server 127.0.0.1:8501;" in site and "listen 80;" in site
    site = site.replace("server 127.0.0.1:8501;", f"server 127.0.0.1:{upstream_port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    (folder / "logs").mkdir(exist_ok=True)
    (folder / "nginx.conf").write_text(
        "worker_processes 1;\nerror_log logs/error.log;\npid logs/nginx.pid;\n"
        "events { worker_connections 64; }\n"
        "http {\n  access_log logs/access.log;\n"
        "  client_body_temp_path logs/body;\n  proxy_temp_path logs/proxy;\n"
        f"{site}\n}}\n",
        encoding="utf-8",
    )
    user = ["-g", "daemon off; user root;"] if _is_root() else ["-g", "daemon off;"]
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), *user],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        up = wait_until(lambda: process.poll() is not None or answers(url) is not None, timeout=30)
        assert up and process.poll() is None, (
            process.stderr.read().decode() if process.stderr else ""
        )
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def _is_root() -> bool:
    return os.geteuid() == 0
