"""Installs that reproduce: the lock files pin what their inputs ask for, with hashes, the
test and runtime sets agree, and `pip install .` gives a working `mimecast-searchlogs`.

`scripts/lock --check` (run by scripts/test) compares each lock with a fresh compile; these
tests check the same promises offline, from the files themselves."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.runtime import PROJECT_ROOT

PRODUCT_PACKAGES = ("api", "config", "dashboard", "db", "ingest")
LOCKS = {
    "requirements.txt": "requirements.lock",
    "requirements-dev.txt": "requirements-dev.lock",
    "requirements-uv.txt": "requirements-uv.lock",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)")


def requirements(name: str) -> list[Requirement]:
    """The requirements of an input file, following `-r` includes."""
    found: list[Requirement] = []
    for line in (PROJECT_ROOT / name).read_text().splitlines():
        line = line.split(" #")[0].strip()
        if line.startswith("-r "):
            found += requirements(line[3:].strip())
        elif line and not line.startswith("#"):
            found.append(Requirement(line))
    return found


def locked(name: str) -> dict[str, str]:
    """A lock file's pins: canonical name -> version."""
    pins = {}
    for line in (PROJECT_ROOT / name).read_text().splitlines():
        if match := PIN.match(line):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


@pytest.mark.parametrize("source", sorted(LOCKS))
def test_each_lock_pins_what_its_input_asks_for(source: str) -> None:
    pins = locked(LOCKS[source])
    for requirement in requirements(source):
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{LOCKS[source]} lacks {requirement.name}: run scripts/lock"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{LOCKS[source]} pins {requirement.name}=={version}, {source} asks for "
            f"{requirement}: run scripts/lock"
        )


@pytest.mark.parametrize("lock", sorted(LOCKS.values()))
def test_every_locked_package_carries_its_hashes(lock: str) -> None:
    text = (PROJECT_ROOT / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert len(entries) == len(locked(lock)) > 0
    for entry in entries:
        assert "--hash=sha256:" in entry, f"{lock}: {entry.splitlines()[0]} has no hash"


def test_the_test_and_runtime_sets_run_the_same_versions() -> None:
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    differing = {name: (v, dev[name]) for name, v in runtime.items() if dev.get(name) != v}
    assert not differing, f"runtime vs dev lock: {differing}"


def imported_distributions() -> set[str]:
    """The distributions the product packages import directly (stdlib and our own aside)."""
    modules: set[str] = set()
    for package in PRODUCT_PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module.split(".")[0])
    modules -= set(sys.stdlib_module_names) | set(PRODUCT_PACKAGES)
    owners = importlib.metadata.packages_distributions()
    return {canonicalize_name(owners[module][0]) for module in modules if module in owners}


def optional_extras() -> dict[str, set[str]]:
    """pyproject's pip extras: name -> the distributions it adds."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    return {
        name: {canonicalize_name(Requirement(r).name) for r in rs} for name, rs in extras.items()
    }


def test_every_directly_imported_package_is_pinned_in_requirements_txt_or_an_extra() -> None:
    pinned = {canonicalize_name(r.name) for r in requirements("requirements.txt")}
    optional = set().union(*optional_extras().values())
    imported = imported_distributions()
    assert {"starlette", "sqlalchemy", "streamlit"} <= imported  # the scan sees imports
    assert imported - pinned - optional == set()
    assert {"starlette", "uvicorn", "tzdata", "cryptography"} <= pinned
    dev = {canonicalize_name(r.name) for r in requirements("requirements-dev.txt")}
    assert optional <= dev, "the extras' packages are pinned for the tests that use them"


def test_an_extras_packages_are_imported_only_inside_the_package_that_needs_them() -> None:
    """The ClickHouse drivers are not installed with the product: a module outside
    db/clickhouse/ importing them would break a plain install."""
    modules = {"clickhouse_connect", "chdb"}
    assert optional_extras()["clickhouse"] == {"clickhouse-connect", "chdb"}
    for package in PRODUCT_PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            if (PROJECT_ROOT / "db" / "clickhouse") in path.parents:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                used = {name.split(".")[0] for name in names} & modules
                assert not used, f"{path.relative_to(PROJECT_ROOT)} imports {used}"


def test_pyproject_dependencies_are_the_runtime_requirements_as_ranges() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    ranges = {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}
    pinned = {canonicalize_name(r.name): r for r in requirements("requirements.txt")}
    assert ranges.keys() == pinned.keys()
    lock = locked("requirements.lock")
    for name, requirement in ranges.items():
        assert requirement.extras == pinned[name].extras, name
        assert requirement.specifier.contains(lock[name]), f"{requirement} excludes {lock[name]}"
    assert project["scripts"]["mimecast-searchlogs"] == "ingest.__main__:console"


@pytest.mark.slow
def test_pip_install_gives_a_working_mimecast_searchlogs(tmp_path: Path) -> None:
    """`pip install .` into a fresh venv, from a copy of the sources (a build writes into
    its source folder), with the locked versions as constraints so the run is repeatable."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PRODUCT_PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, source / package, ignore=ignore)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", source)
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("\n".join(f"{n}=={v}" for n, v in locked("requirements.lock").items()))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    install = [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "-c", str(constraints)]
    subprocess.run([*install, str(source)], check=True, env=env, cwd=tmp_path, timeout=600)

    for command in (
        [str(venv / "bin/mimecast-searchlogs")],
        [str(venv / "bin/python"), "-m", "ingest"],
    ):
        shown = subprocess.run(
            [*command, "--help"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
        )
        assert shown.returncode == 0, shown.stderr
        assert "run" in shown.stdout and "status" in shown.stdout
    # the dashboard's packages import from the install too (streamlit, starlette, plotly)
    imported = subprocess.run(
        [str(venv / "bin/python"), "-c", "import api.routes, dashboard.figures, db.engine"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
