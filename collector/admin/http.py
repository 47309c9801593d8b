"""``/v1/admin/...`` on the store: verify, checkpoints, backup, retention, legal holds, keys,
erasure (docs/admin.md). Who may call, dry runs and the audit trail are `endpoint`'s rules.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any, Protocol

import orjson
from aiohttp import web

from chronolog.fsutil import atomic_write
from chronolog.timefmt import BadTime, parse_rfc3339
from collector.admin.audit import AUDIT
from collector.admin.disposal import disposal_report, render_text
from collector.admin.endpoint import DATA_DIR, Body, admin_scope, confirmed, done, endpoint, read_body
from collector.auth.access import ACCOUNTS, SESSIONS, require_admin
from collector.auth.credentials import ALL_TENANTS, Principal
from collector.console.cookies import CONSOLE
from collector.fleet.http import FLEET
from collector.http import CREDENTIALS, TELEMETRY, ApiError, json_response
from collector.store import DamagedPart
from collector.store.catalog import Hold
from collector.store.keys import KeyVersion, MasterKeys
from collector.store.local import UnknownTenant
from collector.store.verify import VerifyReport

__all__ = ["ADMIN_STORE", "AdminStore", "add_store_routes"]


class AdminStore(Protocol):
    """What administration needs of a store (`collector.store.local.LocalStore` has it)."""

    master: MasterKeys

    def tenants(self) -> list[str]: ...
    def create_tenant(self, tenant: str) -> bool: ...
    def verify(self, tenant: str, exported: dict[str, Any] | None = None) -> VerifyReport: ...
    def checkpoint(self, tenant: str) -> dict[str, Any] | None: ...
    def sign(self, record: dict[str, Any]) -> dict[str, Any]: ...
    def public_key(self) -> str: ...
    async def seal(self, tenant: str) -> int: ...
    def backup(self, tenant: str, out: IO[bytes], by: str) -> dict[str, Any]: ...
    def retention(self, tenant: str, days: int | None = None) -> dict[str, Any]: ...
    def set_retention(self, tenant: str, days: int) -> None: ...
    def apply_retention(self, tenant: str) -> dict[str, Any]: ...
    def holds(self, tenant: str, active_only: bool = True) -> list[Hold]: ...
    def add_hold(self, tenant: str, since: int | None, until: int | None, reason: str, by: str) -> Hold: ...
    def release_hold(self, tenant: str, hold_id: str, by: str) -> bool: ...
    def key_versions(self, tenant: str) -> list[KeyVersion]: ...
    def rotate_tenant_key(self, tenant: str) -> str: ...
    def erase_plan(self, tenant: str) -> dict[str, Any]: ...
    async def erase(self, tenant: str) -> dict[str, Any]: ...


ADMIN_STORE = web.AppKey("admin_store", AdminStore)


def _time(body: Body, key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return parse_rfc3339(str(value))
    except BadTime as e:
        raise ApiError(400, "bad_request", f"{key}: {e}") from None


# ---- integrity ----------------------------------------------------------------------------


async def handle_verify(request: web.Request) -> web.Response:
    body = await read_body(request, {"tenant", "checkpoint"})
    principal = require_admin(request)
    store = request.app[ADMIN_STORE]
    if body.get("tenant") is None and principal.tenant == ALL_TENANTS:
        tenants = store.tenants()
    else:
        principal, tenant = admin_scope(request, body.get("tenant"))
        tenants = [tenant]
    exported = body.get("checkpoint")
    if exported is not None and not isinstance(exported, dict):
        raise ApiError(400, "bad_request", "'checkpoint' must be an exported checkpoint object")
    try:
        reports = [await asyncio.to_thread(store.verify, t, exported) for t in tenants]
    except UnknownTenant as e:
        raise ApiError(404, "unknown_tenant", str(e)) from None
    clean = all(r.clean for r in reports)
    for r in reports:
        request.app[TELEMETRY].verified(r.tenant, len(r.findings))
    await request.app[AUDIT].record(principal, "verify", None if len(tenants) != 1 else tenants[0],
                                    "clean" if clean else "findings",
                                    {"findings": sum(len(r.findings) for r in reports)})
    return json_response({"clean": clean, "reports": [r.to_dict() for r in reports]})


@endpoint("checkpoint.export")
async def handle_checkpoint(request: web.Request, principal: Principal, tenant: str,
                            _: Body) -> web.Response:
    checkpoint = request.app[ADMIN_STORE].checkpoint(tenant)
    if checkpoint is None:
        raise ApiError(404, "no_checkpoint", f"tenant {tenant} has no sealed segment yet")
    return await done(request, principal, "checkpoint.export", tenant, "done",
                 {"number": checkpoint["number"]}, checkpoint)


# ---- backup -------------------------------------------------------------------------------


@endpoint("backup")
async def handle_backup(request: web.Request, principal: Principal, tenant: str,
                        _: Body) -> web.StreamResponse:
    store = request.app[ADMIN_STORE]
    if tenant not in store.tenants():
        raise UnknownTenant(f"no tenant {tenant!r} in this store")
    await store.seal(tenant)  # so the archive holds every acknowledged line
    tmp_dir = request.app[DATA_DIR]
    with tempfile.TemporaryFile(dir=tmp_dir) as tmp:
        try:
            manifest = await asyncio.to_thread(store.backup, tenant, tmp, principal.name)
        except DamagedPart as e:  # the cluster lost a segment's object: no partial archive
            raise ApiError(409, "damaged", f"no backup made: {e}") from None
        size = tmp.tell()
        tmp.seek(0)
        details = {"id": manifest["id"], "segments": len(manifest["segments"]), "bytes": size}
        await request.app[AUDIT].record(principal, "backup", tenant, "done", details)
        request.app[TELEMETRY].admin_operation("backup", "done")
        response = web.StreamResponse(headers={
            "Content-Type": "application/x-tar", "Content-Length": str(size),
            "X-Chronolog-Backup": manifest["id"]})
        await response.prepare(request)
        async for chunk in _chunks(tmp):
            await response.write(chunk)
        await response.write_eof()
    return response


async def _chunks(f: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(f.read, 1 << 20):
        yield chunk


# ---- retention and legal holds ---------------------------------------------------------------


@endpoint("retention.show")
async def handle_retention_show(request: web.Request, principal: Principal, tenant: str,
                                _: Body) -> web.Response:
    return await done(request, principal, "retention.show", tenant, "done", {},
                      request.app[ADMIN_STORE].retention(tenant))


@endpoint("retention.set", {"days", "confirm"})
async def handle_retention_set(request: web.Request, principal: Principal, tenant: str,
                               body: Body) -> web.Response:
    days = body.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise ApiError(400, "bad_request",
                       "'days' must be a whole number of days, 0 (keep everything) or more")
    store = request.app[ADMIN_STORE]
    preview = store.retention(tenant, days)
    if not confirmed(body, tenant):
        return await done(request, principal, "retention.set", tenant, "dry_run", {"days": days},
                     {"dry_run": True, **preview})
    store.set_retention(tenant, days)
    return await done(request, principal, "retention.set", tenant, "done",
                 {"days": days, "before": preview["retention_days"]},
                 {"dry_run": False, **store.retention(tenant)})


@endpoint("retention.apply", {"confirm"})
async def handle_retention_apply(request: web.Request, principal: Principal, tenant: str,
                                 body: Body) -> web.Response:
    store = request.app[ADMIN_STORE]
    if not confirmed(body, tenant):
        preview = store.retention(tenant)
        return await done(request, principal, "retention.apply", tenant, "dry_run",
                     {"segments": preview["would_expire"]["segments"]}, {"dry_run": True, **preview})
    gone = await asyncio.to_thread(store.apply_retention, tenant)
    return await done(request, principal, "retention.apply", tenant, "done", {"segments": gone["segments"]},
                 {"dry_run": False, "expired": gone})


@endpoint("hold.list")
async def handle_holds(request: web.Request, principal: Principal, tenant: str,
                       _: Body) -> web.Response:
    all_holds = "all" in request.query
    holds = request.app[ADMIN_STORE].holds(tenant, active_only=not all_holds)
    return await done(request, principal, "hold.list", tenant, "done", {"holds": len(holds)},
                      {"tenant": tenant, "holds": [h.to_dict() for h in holds]})


@endpoint("hold.add", {"since", "until", "reason"})
async def handle_hold_add(request: web.Request, principal: Principal, tenant: str,
                          body: Body) -> web.Response:
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ApiError(400, "bad_request", "'reason' is required: say why the data must be kept")
    since, until = _time(body, "since"), _time(body, "until")
    if since is not None and until is not None and until <= since:
        raise ApiError(400, "bad_request", "'until' must be after 'since'")
    hold = request.app[ADMIN_STORE].add_hold(tenant, since, until, reason.strip(), principal.name)
    return await done(request, principal, "hold.add", tenant, "done", hold.to_dict(), hold.to_dict())


@endpoint("hold.release", {"id", "confirm"})
async def handle_hold_release(request: web.Request, principal: Principal, tenant: str,
                              body: Body) -> web.Response:
    store = request.app[ADMIN_STORE]
    hold_id = body.get("id")
    active = {h.id: h for h in store.holds(tenant)}
    if hold_id not in active:
        raise ApiError(404, "unknown_hold", f"tenant {tenant} has no active hold {hold_id!r}")
    if not confirmed(body, tenant):
        after = [h for h in active.values() if h.id != hold_id]
        return await done(request, principal, "hold.release", tenant, "dry_run", {"id": hold_id},
                     {"dry_run": True, "hold": active[hold_id].to_dict(),
                      "remaining": [h.to_dict() for h in after]})
    store.release_hold(tenant, str(hold_id), principal.name)
    return await done(request, principal, "hold.release", tenant, "done", {"id": hold_id},
                 {"dry_run": False, "released": hold_id})


# ---- keys -------------------------------------------------------------------------------------


@endpoint("keys.list")
async def handle_keys(request: web.Request, principal: Principal, tenant: str,
                      _: Body) -> web.Response:
    versions = request.app[ADMIN_STORE].key_versions(tenant)
    return await done(request, principal, "keys.list", tenant, "done", {}, {"tenant": tenant, "versions": [
        {"id": v.id, "created": v.created, "master": v.master, "active": v.active} for v in versions]})


@endpoint("keys.rotate", {"confirm"})
async def handle_keys_rotate(request: web.Request, principal: Principal, tenant: str,
                             body: Body) -> web.Response:
    store = request.app[ADMIN_STORE]
    versions = store.key_versions(tenant)
    if not confirmed(body, tenant):
        active = [v.id for v in versions if v.active]
        return await done(request, principal, "keys.rotate", tenant, "dry_run", {"versions": len(versions)},
                          {"dry_run": True, "tenant": tenant, "active": active[0] if active else None,
                           "versions": len(versions)})
    key_id = store.rotate_tenant_key(tenant)
    return await done(request, principal, "keys.rotate", tenant, "done", {"new": key_id},
                      {"dry_run": False, "tenant": tenant, "active": key_id})


# ---- erasure ----------------------------------------------------------------------------------


@endpoint("erase", {"confirm"})
async def handle_erase(request: web.Request, principal: Principal, tenant: str,
                       body: Body) -> web.Response:
    store = request.app[ADMIN_STORE]
    credentials = request.app[CREDENTIALS]
    plan = store.erase_plan(tenant)
    plan["credentials"] = [e for e in credentials.entries() if e["tenant"] == tenant and e["revoked"] is None]
    plan["administrators"] = [a.name for a in request.app[ACCOUNTS].accounts()
                              if a.scope == tenant and a.disabled is None]
    plan["investigators"] = [a.name for a in request.app[CONSOLE].accounts.accounts()
                             if a.scope == tenant and a.disabled is None]
    if not confirmed(body, tenant):
        return await done(request, principal, "erase", tenant, "dry_run",
                     {"segments": len(plan["segments"]), "bytes": plan["bytes_on_disk"]},
                     {"dry_run": True, "plan": plan})
    if plan["holds"]:
        raise ApiError(409, "legal_hold", f"tenant {tenant} is under {len(plan['holds'])} legal hold(s) "
                       f"({', '.join(h['id'] for h in plan['holds'])}): release them first")
    revoked = credentials.revoke_tenant(tenant)  # first: nothing new arrives during the erase
    admins = request.app[ACCOUNTS].disable_scope(tenant)
    request.app[SESSIONS].end_for(set(admins))
    investigators = request.app[CONSOLE].accounts.disable_scope(tenant)
    request.app[CONSOLE].end_for(set(investigators))
    erased = await store.erase(tenant)
    request.app[FLEET].forget(tenant)  # its hosts, streams and opaque id, in memory and on disk
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    report_id = f"disposal-{tenant}-{stamp}"
    report = disposal_report(report_id=report_id, plan=plan, erased=erased, credentials=revoked,
                             person={"name": principal.name, "credential": principal.credential_id},
                             data_dir=str(request.app[DATA_DIR]))
    report = store.sign({**report, "algorithm": "Ed25519", "public_key": store.public_key()})
    text = render_text(report)
    files = await asyncio.to_thread(_keep_report, request.app[DATA_DIR], report_id, report, text)
    outcome = "done" if erased["verification"]["decrypt_failed"] else "verification_failed"
    return await done(request, principal, "erase", tenant, outcome,
                 {"report": report_id, "keys": erased["destroyed_key_ids"], "credentials": len(revoked),
                  "administrators": admins, "investigators": investigators},
                 {"dry_run": False, "report": report, "text": text, "files": files})


def _keep_report(data_dir: Path, report_id: str, report: dict[str, Any], text: str) -> list[str]:
    directory = data_dir / "disposal"
    directory.mkdir(exist_ok=True, mode=0o700)
    json_path, text_path = directory / f"{report_id}.json", directory / f"{report_id}.txt"
    atomic_write(json_path, orjson.dumps(report, option=orjson.OPT_INDENT_2), mode=0o600)
    atomic_write(text_path, text.encode(), mode=0o600)
    return [str(json_path), str(text_path)]


def add_store_routes(app: web.Application, store: AdminStore, data_dir: Path) -> None:
    app[ADMIN_STORE] = store
    app[DATA_DIR] = data_dir
    r = app.router
    r.add_post("/v1/admin/verify", handle_verify)
    r.add_get("/v1/admin/checkpoint", handle_checkpoint)
    r.add_get("/v1/admin/backup", handle_backup)
    r.add_get("/v1/admin/retention", handle_retention_show)
    r.add_post("/v1/admin/retention", handle_retention_set)
    r.add_post("/v1/admin/retention/apply", handle_retention_apply)
    r.add_get("/v1/admin/holds", handle_holds)
    r.add_post("/v1/admin/holds", handle_hold_add)
    r.add_post("/v1/admin/holds/release", handle_hold_release)
    r.add_get("/v1/admin/keys", handle_keys)
    r.add_post("/v1/admin/keys/rotate", handle_keys_rotate)
    r.add_post("/v1/admin/erase", handle_erase)
