"""Every guarded operation of the API, without its confirmation, changes nothing: the data
directory is the same byte for byte (but for the audit trail, which records each dry run),
and each dry run is counted."""

from __future__ import annotations

import hashlib
from pathlib import Path

from prometheus_client import generate_latest
from support.adminapi import Admin

from collector.admin.endpoint import GUARDED


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` but the audit trail, by content."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name not in ("audit.log", "store.lock")}


async def test_no_guarded_operation_changes_anything_without_its_confirmation(admin: Admin) -> None:
    await admin.store.seal("city")
    _, hold = await admin.post("/v1/admin/holds", {"tenant": "city", "reason": "case 7"})
    _, creds = await admin.get("/v1/admin/credentials", tenant="city")
    credential = creds["credentials"][0]["id"]
    before = snapshot(admin.config.data_dir)
    calls = {
        "retention.set": ("/v1/admin/retention", {"tenant": "city", "days": 1}),
        "retention.apply": ("/v1/admin/retention/apply", {"tenant": "city"}),
        "hold.release": ("/v1/admin/holds/release", {"tenant": "city", "id": hold["id"]}),
        "keys.rotate": ("/v1/admin/keys/rotate", {"tenant": "city"}),
        "erase": ("/v1/admin/erase", {"tenant": "city"}),
        "credentials.revoke": ("/v1/admin/credentials/revoke", {"id": credential}),
    }
    assert set(calls) == set(GUARDED) - {"restore", "keys.rotate_master"}  # those two are local commands
    for operation, (path, body) in calls.items():
        status, answer = await admin.post(path, body)
        assert status == 200 and answer["dry_run"] is True, (operation, answer)
    assert snapshot(admin.config.data_dir) == before
    metrics = generate_latest(admin.telemetry.registry).decode()
    for operation in calls:
        assert f'{{operation="{operation}",outcome="dry_run"}} 1.0' in metrics, operation
        assert f'{{operation="{operation}",outcome="done"}} 0.0' in metrics
    assert [e["outcome"] for e in admin.audit() if e["action"] in calls] == ["dry_run"] * len(calls)
