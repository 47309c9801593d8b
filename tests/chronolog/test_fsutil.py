"""Durable writes keep the owner a service needs: a file root writes into the data directory
(a `chronolog-collector` command beside the running collector) stays readable by the service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chronolog.fsutil import atomic_write, hand_back, swap_write


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to change owners (make test runs as root in CI)")


def test_a_new_file_written_by_root_belongs_to_the_directorys_owner(tmp_path: Path, as_root: None) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, 61234, 61234)  # the service's (dynamic) user
    atomic_write(data / "admins.json", b"{}")
    st = (data / "admins.json").stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (61234, 61234, 0o600)


def test_a_replaced_file_keeps_its_owner(tmp_path: Path, as_root: None) -> None:
    path = tmp_path / "credentials.json"
    path.write_bytes(b"old")
    os.chown(path, 64321, 64321)
    atomic_write(path, b"new")
    st = path.stat()
    assert (st.st_uid, st.st_gid, path.read_bytes()) == (64321, 64321, b"new")


def test_roots_own_files_stay_roots(tmp_path: Path, as_root: None) -> None:
    atomic_write(tmp_path / "master.key", b"k")
    assert (tmp_path / "master.key").stat().st_uid == 0


def test_what_root_made_under_a_services_directory_is_handed_back(tmp_path: Path, as_root: None) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, 61234, 61234)  # as systemd's DynamicUser leaves it
    (data / "tenants").mkdir()
    os.chown(data / "tenants", 61234, 61234)
    (data / "keys" / "tenants").mkdir(parents=True)  # root's mkdir: the collector loops on EACCES
    (data / "keys" / "signing.json").write_text("{}")
    (data / "audit.log").write_text("")
    (data / "link").symlink_to("/etc/passwd")
    changed = hand_back(data)
    assert sorted(p.relative_to(data).as_posix() for p in changed) == [
        "audit.log", "keys", "keys/signing.json", "keys/tenants", "link"]
    for path in [data / "keys", data / "keys" / "tenants", data / "keys" / "signing.json",
                 data / "audit.log"]:
        assert (path.stat().st_uid, path.stat().st_gid) == (61234, 61234), path
    assert (data / "link").lstat().st_uid == 61234 and Path("/etc/passwd").stat().st_uid == 0  # not followed
    assert hand_back(data) == []


def test_nothing_is_handed_back_in_roots_own_directory(tmp_path: Path, as_root: None) -> None:
    (tmp_path / "keys").mkdir()
    assert hand_back(tmp_path) == []


def test_a_swapped_file_holds_the_new_text_and_its_spare_the_one_before(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.json"
    inodes = []
    for n in range(4):
        swap_write(path, f'{{"n": {n}}}'.encode())
        inodes.append(path.stat().st_ino)
    assert path.read_bytes() == b'{"n": 3}'
    assert (tmp_path / ".checkpoints.json.spare").read_bytes() == b'{"n": 2}'
    # The two files trade names (no new file each time), both private.
    assert inodes[1] != inodes[2] and inodes[1] == inodes[3]
    assert {p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == {0o600}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".checkpoints.json.spare", "checkpoints.json"]


def test_a_process_killed_while_swapping_leaves_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.json"
    texts = {f"{n}:".encode() + bytes([48 + n]) * (16 << 20) for n in range(10)}
    writer = ("import sys, itertools\nfrom pathlib import Path\nfrom chronolog.fsutil import swap_write\n"
              "for n in itertools.cycle(range(10)):\n"
              "    swap_write(Path(sys.argv[1]), f'{n}:'.encode() + bytes([48 + n]) * (16 << 20))\n"
              "    print(n, flush=True)\n")
    for delay in (0.0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05):  # most kill it mid-write
        child = subprocess.Popen([sys.executable, "-c", writer, str(path)], stdout=subprocess.PIPE)
        assert child.stdout is not None
        child.stdout.readline()  # one text written: the next is being written
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert path.read_bytes() in texts
