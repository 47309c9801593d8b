"""The audit trail: entries chained and signed, durable, safe with several writers; and
verification naming every rewritten, removed, reordered or duplicated entry."""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector.admin.audit import GENESIS_HEX, AuditTrail, entry_digest
from collector.admin.audit_verify import verify_trail
from collector.auth.credentials import Principal
from collector.store.chain import signature_ok, signed
from collector.store.crypto import new_signing_key
from collector.store.keys import Signer

ROOT = Principal("c_root", "*", "admin", "root")
IVAN = Principal("c_ivan", "city", "investigator", "ivan")


@pytest.fixture
def signer() -> Signer:
    private, public = new_signing_key()
    return Signer("sk-test", private, public)


def trail_with(path: Path, signer: Signer, n: int) -> AuditTrail:
    trail = AuditTrail(path, signer).open()
    for i in range(n):
        trail.append(IVAN if i % 2 else ROOT, "query" if i % 2 else "retention.set", "city",
                     "done", {"i": i})
    return trail


def findings(path: Path, signer: Signer) -> list[tuple[str, str]]:
    report = verify_trail(path.read_bytes().split(b"\n")[:-1], signer.public)
    return [(f.kind, f.where) for f in report.findings]


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_entries_are_numbered_chained_to_the_line_before_and_signed(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "audit.log"
    trail_with(path, signer, 3)
    lines = path.read_bytes().split(b"\n")[:-1]
    entries = [orjson.loads(x) for x in lines]
    assert [e["n"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev"] == GENESIS_HEX
    assert [e["prev"] for e in entries[1:]] == [entry_digest(x) for x in lines[:-1]]
    assert all(signature_ok(e, signer.public) for e in entries)
    assert entries[1]["name"] == "ivan" and entries[1]["role"] == "investigator"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert verify_trail(lines, signer.public).clean


def test_a_flipped_byte_is_named_as_a_rewritten_entry(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "audit.log"
    trail_with(path, signer, 5)
    lines = path.read_bytes().split(b"\n")[:-1]
    lines[2] = lines[2].replace(b'"i":2', b'"i":7')  # still JSON: only the signature tells
    rewrite(path, lines)
    assert findings(path, signer) == [("rewritten", "entry 3 (line 3)")]
    lines[2] = lines[2].replace(b'"outcome":"done"', b'"outcome":"d\xffne"')  # not even JSON now
    rewrite(path, lines)
    assert findings(path, signer) == [("rewritten", "line 3")]


def test_a_deleted_line_is_named_as_a_removed_entry(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "audit.log"
    trail_with(path, signer, 5)
    lines = path.read_bytes().split(b"\n")[:-1]
    rewrite(path, lines[:1] + lines[3:])
    assert findings(path, signer) == [("removed", "entries 2 to 3")]
    rewrite(path, lines[1:])
    assert findings(path, signer) == [("removed", "entry 1")]


def test_two_swapped_lines_are_named_as_reordered(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "audit.log"
    trail_with(path, signer, 5)
    lines = path.read_bytes().split(b"\n")[:-1]
    swapped = list(lines)
    swapped[1], swapped[2] = lines[2], lines[1]
    rewrite(path, swapped)
    assert findings(path, signer) == [("reordered", "entry 2 (line 3)")]
    swapped = list(lines)
    swapped[1], swapped[3] = lines[3], lines[1]
    rewrite(path, swapped)
    assert findings(path, signer) == [("reordered", "entry 3 (line 3)"), ("reordered", "entry 2 (line 4)")]


def test_an_entry_replaced_and_re_signed_with_the_key_is_still_named(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "audit.log"
    trail_with(path, signer, 4)
    lines = path.read_bytes().split(b"\n")[:-1]
    forged: dict[str, Any] = orjson.loads(lines[1])
    forged["details"] = {"i": 99}
    lines[1] = orjson.dumps(signed({k: v for k, v in forged.items() if k not in ("sig", "signer")}, signer))
    rewrite(path, lines)
    assert findings(path, signer) == [("rewritten", "entry 2 (line 2)")]


def test_a_copied_entry_is_named_as_duplicated(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "audit.log"
    trail_with(path, signer, 3)
    lines = path.read_bytes().split(b"\n")[:-1]
    rewrite(path, [*lines, lines[1]])
    assert ("duplicated", "entry 2 (line 4)") in findings(path, signer)


def test_another_key_cannot_sign_entries(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "audit.log"
    trail_with(path, signer, 2)
    private, public = new_signing_key()
    AuditTrail(path, Signer("sk-rogue", private, public)).open().append(ROOT, "erase", "city", "done")
    assert findings(path, signer) == [("rewritten", "entry 3 (line 3)")]


def test_writers_in_two_processes_keep_one_chain(tmp_path: Path, signer: Signer) -> None:
    # Two AuditTrail objects on one file are what the collector and a local command are.
    path = tmp_path / "audit.log"
    first, second = AuditTrail(path, signer).open(), AuditTrail(path, signer).open()

    def write(trail: AuditTrail, who: Principal) -> None:
        for i in range(50):
            trail.append(who, "query", "city", "done", {"i": i})

    threads = [threading.Thread(target=write, args=(t, p)) for t, p in ((first, ROOT), (second, IVAN))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = path.read_bytes().split(b"\n")[:-1]
    assert len(lines) == 100 and verify_trail(lines, signer.public).clean
    assert [orjson.loads(x)["n"] for x in lines] == list(range(1, 101))


def test_a_torn_last_line_is_cut_by_the_next_writer(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "audit.log"
    trail_with(path, signer, 2)
    with path.open("ab") as f:
        f.write(b'{"n":3,"at":"2026-')  # a writer died here, before answering
    seen: list[int] = []
    trail = AuditTrail(path, signer, on_entry=lambda e: seen.append(e["n"])).open()
    assert seen == [1, 2] and trail.head[0] == 2
    trail.append(ROOT, "erase", "city", "dry_run")
    lines = path.read_bytes().split(b"\n")[:-1]
    assert [orjson.loads(x)["n"] for x in lines] == [1, 2, 3] and verify_trail(lines, signer.public).clean


def test_a_login_name_is_kept_short_and_the_public_key_may_be_base64(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "audit.log"
    entry = AuditTrail(path, signer).open().append(None, "login", None, "wrong", name="x" * 500)
    assert entry["name"] == "x" * 64 and entry["role"] is None
    lines = path.read_bytes().split(b"\n")[:-1]
    assert verify_trail(lines, base64.b64encode(signer.public).decode()).clean
