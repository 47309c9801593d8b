"""Durable file writes, done one way everywhere."""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "fsync_dir", "hand_back", "keep_owner", "swap_write", "write_all"]


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


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_swaps = True  # False once the system or a file system said it cannot exchange two names


@functools.cache
def _renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)


def _exchange(a: Path, b: Path) -> bool:
    """Swap the files named ``a`` and ``b`` in one step (renameat2, RENAME_EXCHANGE); False
    where this system or file system cannot."""
    rename = _renameat2()
    if rename is None:
        return False
    if rename(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """`atomic_write` for a file replaced many times a second (the agent's checkpoint, once
    a batch): the new text is written over a spare copy kept beside it (``.NAME.spare``, the
    text before), fsync'd, and the two names exchanged in one step, then the directory
    fsync'd. A crash leaves ``path`` whole, the old text or the new (the spare may be cut
    short: it is only ever written over).
    Creating, renaming and syncing a new file each time cost the agent 0.45 to 0.7 ms of CPU
    a write; this, 0.2 to 0.27 ms (issue 13). Where names cannot be exchanged, `atomic_write`."""
    global _swaps
    spare = path.with_name(f".{path.name}.spare")
    if _swaps and path.exists() and spare.exists():
        fd = os.open(spare, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if _exchange(spare, path):
            fsync_dir(path.parent)
            return
        _swaps = False
    atomic_write(path, data, mode)
    if _swaps and not spare.exists():
        atomic_write(spare, data, mode)
