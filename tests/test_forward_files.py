"""Forwarded files hold what everyone searched in the archive: the forwarder creates them
0600, and the folders it makes for them 0700, whatever the umask; rotated files too.
Folders that already existed keep their modes."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings
from tests.support.forwarding import forward


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """A umask that lets the group write and everyone read (the forwarder must not rely
    on the one the program starts with)."""
    previous = os.umask(0o002)
    yield
    os.umask(previous)


def test_forwarded_files_are_0600_in_0700_folders_whatever_the_umask(
    stored: Settings, tmp_path: Path, lax_umask: None
):
    existing = mode(tmp_path)
    out = tmp_path / "siem" / "mimecast" / "searches.ndjson"
    (result,) = forward(
        stored,
        {"name": "file", "url": f"file://{out}", "rotate_bytes": 4096, "keep": 5,
         "batch_size": 20},
    )  # fmt: skip
    assert result.error is None and result.delivered > 100
    files = sorted(out.parent.iterdir())
    assert [f.name for f in files] == ["searches.ndjson"] + [f"searches.ndjson.{n}" for n in
                                                             range(1, 6)]  # fmt: skip
    assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
    assert (oct(mode(out.parent)), oct(mode(out.parent.parent))) == ("0o700", "0o700")
    assert mode(tmp_path) == existing
