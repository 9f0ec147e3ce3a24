"""Forwarded files and the folders made for them, readable by the forwarder's user only:
they hold what everyone searched in the archive. Explicit modes, so they hold whatever the
umask; folders and files that already exist keep the modes someone gave them (a log
shipper's group, say); a file made by rotation is new, so it is 0600 again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from db.engine import PRIVATE_FILE, PRIVATE_FOLDER


def private_folders(folder: Path) -> None:
    """Creates `folder` and each missing parent 0700 (`mkdir(parents=True)` would give
    the parents the umask's modes)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:
            continue  # made meanwhile by someone else: theirs to set
        path.chmod(PRIVATE_FOLDER)


def open_private(path: Path) -> BinaryIO:
    """`path` opened to append; created 0600 when it does not exist yet."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        os.fchmod(descriptor, PRIVATE_FILE)  # the umask may have taken bits off, never add
    except FileExistsError:
        descriptor = os.open(path, flags)
    return os.fdopen(descriptor, "ab")
