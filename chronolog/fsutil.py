"""Durable file writes, done one way everywhere."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "fsync_dir", "hand_back", "keep_owner", "write_all"]


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


def hand_back(directory: Path) -> list[Path]:
    """After root ran a command on a service's directory: give everything under ``directory``
    that belongs to another owner the owner of ``directory`` itself, so that the service can
    use what root made there (files, and the directories ``mkdir`` made, which `keep_owner`
    does not see). Returns what was changed. Nothing to do unless we are root and the directory
    is not root's (under systemd's DynamicUser it is the service's)."""
    if os.geteuid() != 0:
        return []
    try:
        top = directory.stat()
    except FileNotFoundError:
        return []
    if top.st_uid == 0:
        return []
    changed = []
    for root, dirs, files in os.walk(directory):
        for name in [*dirs, *files]:
            path = Path(root) / name
            st = path.lstat()
            if (st.st_uid, st.st_gid) != (top.st_uid, top.st_gid):
                os.lchown(path, top.st_uid, top.st_gid)
                changed.append(path)
    return changed


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
