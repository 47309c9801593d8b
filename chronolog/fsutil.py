"""Durable file writes, done one way everywhere."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "fsync_dir", "keep_owner", "write_all"]


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte: ``os.write`` may write less than asked (e.g. on a nearly full disk)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_dir(directory: Path) -> None:
    """Make the names in ``directory`` (a new or renamed file) survive a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def keep_owner(fd: int, path: Path) -> None:
    """When root writes ``path`` (a ``chronolog-collector`` command on the host), give the file
    the owner of the file it replaces, or of its directory: the service's user must still read
    it (under systemd's DynamicUser the data directory belongs to the service)."""
    if os.geteuid() != 0:
        return
    try:
        st = path.stat()
    except FileNotFoundError:
        st = path.parent.stat()
    if (st.st_uid, st.st_gid) != (0, 0):
        os.fchown(fd, st.st_uid, st.st_gid)


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``: readers see the old or the new file, never a mix, and
    the new one survives a crash once this returns. Its owner stays (`keep_owner`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        keep_owner(fd, path)
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
