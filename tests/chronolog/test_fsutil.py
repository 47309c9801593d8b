"""Durable writes keep the owner a service needs: a file root writes into the data directory
(a `chronolog-collector` command beside the running collector) stays readable by the service."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chronolog.fsutil import atomic_write, hand_back


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
