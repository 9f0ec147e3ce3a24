"""Run the ingest loop and the dashboard together (and, with --demo, the API simulator).

`scripts/demo` and `scripts/start` call this after `scripts/setup`, which installs the
project into `.venv` (so `config`, `ingest` and the rest import without a PYTHONPATH).
Ctrl-C or SIGTERM stops every process it started; if one of them dies, the others are
stopped too and the exit status says so.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from config.settings import ConfigError, Settings, load_settings
from config.tenants import Tenant, load_tenants
from ingest.commands.common import database_shown

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEMO_SETTINGS = {
    "MIMECAST_CLIENT_ID": "sim-client-id",
    "MIMECAST_CLIENT_SECRET": "sim-client-secret",
    "DB_PATH": "data/demo.db",
    "INITIAL_BACKFILL_DAYS": "90",  # the planted incidents need a baseline before them
    "POLL_SECONDS": "60",
    "LOOKBACK_SECONDS": "7200",
}


DEMO_TENANTS_FILE = "data/demo-tenants.toml"
DEMO_TENANTS = (
    ("acme", "ACME Corp", 1),  # the simulator's first account, with the planted incidents
    ("globex", "Globex", 2),
)
"""The demo's tenants: (name, display name, simulator account)."""


def write_demo_tenants(env: dict[str, str], sim_port: int) -> None:
    """Two simulator accounts as two tenants: a TENANTS_FILE the demo writes, the secrets
    in variables (never in the file), the single-account credentials unset."""
    tables = []
    for name, display, account in DEMO_TENANTS:
        suffix = "" if account == 1 else f"-{account}"
        variable = f"DEMO_{name.upper()}_SECRET"
        env[variable] = f"sim-client-secret{suffix}"
        tables.append(
            f'[[tenant]]\nname = "{name}"\ndisplay_name = "{display}"\n'
            f'base_url = "http://127.0.0.1:{sim_port}"\nclient_id = "sim-client-id{suffix}"\n'
            f'client_secret_env = "{variable}"\n'
        )
    path = PROJECT_ROOT / DEMO_TENANTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(tables), encoding="utf-8")
    env.update(TENANTS_FILE=DEMO_TENANTS_FILE, MIMECAST_CLIENT_ID="", MIMECAST_CLIENT_SECRET="")


def cli_prefix(settings: Settings, demo: bool) -> str:
    """What a CLI command needs in front to open the database this serves: the demo's
    DB_PATH and TENANTS_FILE are its own (the CLI alone would open data/searchlogs.db);
    otherwise the CLI reads the same .env from the project folder."""
    if not demo:
        return ""
    prefix = f"DB_PATH={shlex.quote(settings.db_path)} "
    if settings.tenants_file:
        prefix += f"TENANTS_FILE={shlex.quote(settings.tenants_file)} "
    return prefix


def token_command(settings: Settings, demo: bool, tenants: tuple[Tenant, ...] = ()) -> str:
    """The exact command that makes a machine API token for the database this serves: with
    several tenants a viewer token reads one, so it names the first."""
    prefix = cli_prefix(settings, demo)
    command = f"{prefix}.venv/bin/python -m ingest token create --name my-script --role viewer"
    if len(tenants) > 1:
        command += f" --tenant {shlex.quote(tenants[0].name)}"
    return command


def tenants_lines(settings: Settings, tenants: tuple[Tenant, ...], port: int, demo: bool) -> str:
    """How to see each tenant, when there are several: its dashboard URL and its status."""
    if len(tenants) < 2:
        return ""
    lines = ["  Tenants (the dashboard's picker, or a URL each; `status` for the ingest's view):"]
    for tenant in tenants:
        lines.append(
            f"    {tenant.display_name:<12} http://localhost:{port}/?tenant={tenant.name}   "
            f"{cli_prefix(settings, demo)}.venv/bin/python -m ingest status --tenant {tenant.name}"
        )
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


class Processes:
    """The child processes, stopped together."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, *args], cwd=PROJECT_ROOT, env=env)
        self.children.append((name, process))
        return process

    def first_exited(self) -> tuple[str, int] | None:
        for name, process in self.children:
            if process.poll() is not None:
                return name, process.returncode
        return None

    def stop_all(self) -> None:
        for _name, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _name, process in self.children:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="use the built-in API simulator")
    parser.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    parser.add_argument(
        "--address", default="127.0.0.1", help="dashboard address (default 127.0.0.1 only)"
    )
    args = parser.parse_args(argv)

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes = Processes()
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        if args.demo:
            sim_port = free_port()
            env.update(DEMO_SETTINGS, MIMECAST_BASE_URL=f"http://127.0.0.1:{sim_port}")
            # A labelled tenant with planted incidents rides along, so the demo has alerts.
            simulator = ["-m", "ingest.simulator", "--port", str(sim_port), "--days", "90"]
            simulator += ["--incidents", "7", "--accounts", str(len(DEMO_TENANTS))]
            write_demo_tenants(env, sim_port)
            processes.start("simulator", simulator, env)
            if not wait_for_port(sim_port):
                print("error: the API simulator did not start", file=sys.stderr)
                return 1
        try:
            settings = load_settings(env)
            tenants = load_tenants(settings, env)
            for tenant in tenants:
                tenant.require_credentials()
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        processes.start("ingest", ["-m", "ingest", "run"], env)
        processes.start(
            "dashboard",
            [
                "-m",
                "streamlit",
                "run",
                "streamlit_app.py",
                "--server.port",
                str(args.port),
                "--server.address",
                args.address,
            ],
            env,
        )
        where = settings.mimecast_base_url
        if settings.tenants_file:
            where = f"{len(tenants)} tenants of {settings.tenants_file}"
        if args.demo:
            where = f"demo data of {len(tenants)} tenants from the built-in simulator"
        print(
            f"\n  Dashboard: http://localhost:{args.port}   ({where})\n"
            f"  Database:  {database_shown(settings)}\n"
            "  The ingest backfills, then polls every "
            f"{settings.poll_seconds} s. Ctrl-C stops everything.\n"
            "  A machine API token for it (from the project folder, once the ingest started):\n"
            f"    {token_command(settings, args.demo, tenants)}\n"
            + tenants_lines(settings, tenants, args.port, args.demo),
            flush=True,
        )
        while not stopping:
            exited = processes.first_exited()
            if exited:
                name, code = exited
                print(
                    f"error: the {name} stopped (exit status {code}); stopping the rest",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.3)
        print("stopping…", file=sys.stderr)
        return 0
    finally:
        processes.stop_all()


if __name__ == "__main__":
    sys.exit(main())
