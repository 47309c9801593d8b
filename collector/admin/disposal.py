"""The disposal report of an erased tenant: NIST SP 800-88 Rev. 1's certificate of
sanitisation (Appendix G), as JSON and as text. Pure: facts in, report out; the caller signs
it with the collector's checkpoint key and keeps it.

Fields the software cannot know (the person's title and organisation, the media property
number, the validator) are present and empty, to be completed on paper or by a wrapper.
"""

from __future__ import annotations

from typing import Any

from chronolog.timefmt import to_rfc3339
from chronolog.tool import TOOL

__all__ = ["disposal_report", "render_text"]

STANDARD = "NIST SP 800-88 Rev. 1, Appendix G (Certificate of Sanitization)"


def _when(us: int | None) -> str | None:
    return None if us is None else to_rfc3339(us, "UTC")


def disposal_report(*, report_id: str, plan: dict[str, Any], erased: dict[str, Any],
                    credentials: list[dict[str, Any]], person: dict[str, Any],
                    data_dir: str) -> dict[str, Any]:
    """The report for one erase, unsigned. ``plan`` is what the preview showed, ``erased``
    what `collector.store.erase.erase_tenant` did, ``credentials`` the revoked entries."""
    tenant = erased["tenant"]
    v = erased["verification"]
    key_ids = ", ".join(erased["destroyed_key_ids"]) or "none"
    backups = plan.get("backups", [])
    # A remote store names itself, where it is (data residency) and where copies of the tenant
    # keys may outlive the erase (``key_copies``); the local one is data_dir.
    store = erased.get("store") or {"model": "chronolog-collector local store",
                                     "serial_number": f"{data_dir}/tenants/{tenant}", "location": None}
    return {
        "title": "Certificate of Sanitization",
        "standard": STANDARD,
        "id": report_id,
        "date": _when(erased["finished"]),
        "person": {"name": person.get("name"), "credential": person.get("credential"),
                   "title": None, "organization": None, "location": None, "phone": None},
        "media": {
            "make_vendor": "chronolog",
            "model": store["model"],
            "serial_number": store["serial_number"],
            "location": store["location"],
            "media_property_number": None,
            "media_type": "logical: one tenant's encrypted log store (segments, write-ahead log, "
                          "catalog, chain records) on the collector's storage",
            "source": f"tenant {tenant}",
            "classification": None,
            "data_backed_up": "yes" if backups else "unknown",
            "backup_location": ("archives made with `chronolog admin backup` (listed below), wherever "
                                "they were kept; every copy is covered by the cryptographic erase"
                                if backups else "none made by chronolog; any other copy is "
                                "ciphertext under the destroyed keys"),
            "backups": backups,
        },
        "sanitization": {
            "method_type": "Purge",
            "method_used": "Cryptographic Erase",
            "method_details": (
                f"Every version of the tenant's AES-256 key ({key_ids}) was destroyed. Every data "
                "key of the tenant (one per segment and per WAL file, AES-256-GCM) existed only "
                "wrapped (AES key wrap, RFC 3394) by one of those versions, so all of the tenant's "
                "data, including every backup, is unreadable. Then its "
                f"{erased['files_deleted']} files ({erased['bytes_deleted']} bytes) were deleted and "
                f"its {len(credentials)} credentials revoked."),
            "tool": TOOL,
            "verification_method": "Full",
            "verification": {
                "description": "An attempt to decrypt a retained copy of the tenant's ciphertext "
                               "(identical to the copies in its backups) with every key the collector "
                               "still holds.",
                "result": "decryption failed" if v["decrypt_failed"] else "DECRYPTION SUCCEEDED",
                **v,
            },
            "post_sanitization_classification": "Unclassified",
            "notes": store.get("key_copies") or (
                "Tenant key versions exist only wrapped by the master key "
                f"{erased['master_key']}; a key backup taken before this erase still holds "
                "them: destroy such backups, or rotate the master key "
                "(`chronolog-collector keys rotate-master`), which makes them useless."),
        },
        "media_destination": "Internal reuse (the collector's storage stays in service)",
        "scope": {
            "tenant": tenant, "segments": erased["segments"], "lines": erased["lines"],
            "from": _when(erased["min_ts"]), "to": _when(erased["max_ts"]),
            "bytes_on_disk": erased["bytes_deleted"], "key_ids": erased["destroyed_key_ids"],
            "credentials_revoked": credentials,
            "started": _when(erased["started"]),
            "keys_destroyed_at": _when(erased["keys_destroyed_at"]),
            "finished": _when(erased["finished"]),
        },
        "validation": {"name": None, "title": None, "organization": None, "location": None,
                       "phone": None, "signature": None, "date": None},
    }


def render_text(report: dict[str, Any]) -> str:
    """The report as a person reads it."""
    p, m, s, sc = report["person"], report["media"], report["sanitization"], report["scope"]
    v = s["verification"]
    revoked = ", ".join(f"{c['id']} ({c['role']}, {c['name']})" for c in sc["credentials_revoked"]) or "none"

    def show(x: Any) -> str:
        return "(to be completed)" if x in (None, "") else str(x)

    lines = [
        f"{report['title'].upper()}",
        f"{report['standard']}",
        f"Report {report['id']}, {report['date']}",
        "",
        "PERSON PERFORMING SANITIZATION",
        f"  Name: {show(p['name'])} (credential {show(p['credential'])})",
        f"  Title: {show(p['title'])}   Organization: {show(p['organization'])}",
        f"  Location: {show(p['location'])}   Phone: {show(p['phone'])}",
        "",
        "MEDIA INFORMATION",
        f"  Make/Vendor: {m['make_vendor']}   Model: {m['model']}",
        f"  Serial number: {m['serial_number']}   Property number: {show(m['media_property_number'])}",
        f"  Media type: {m['media_type']}",
        *([f"  Data location: {m['location']}"] if m.get("location") else []),
        f"  Source: {m['source']}   Classification: {show(m['classification'])}",
        f"  Data backed up: {m['data_backed_up']}   Backup location: {m['backup_location']}",
        *(f"    backup {b['id']}: {b['segments']} segments, {b['bytes']} bytes, sha256 {b['sha256']}"
          for b in m["backups"]),
        "",
        "SANITIZATION DETAILS",
        f"  Method type: {s['method_type']}   Method used: {s['method_used']}",
        f"  Method details: {s['method_details']}",
        f"  Tool used: {s['tool']}",
        f"  Verification method: {s['verification_method']}: {v['description']}",
        f"  Verification result: {v['result']}",
        *(f"    - {a}" for a in v["attempts"]),
        f"  Post-sanitization classification: {s['post_sanitization_classification']}",
        f"  Notes: {s['notes']}",
        "",
        "SCOPE",
        f"  Tenant {sc['tenant']}: {sc['segments']} segments, {sc['lines']} lines from {show(sc['from'])} "
        f"to {show(sc['to'])}, {sc['bytes_on_disk']} bytes on disk",
        f"  Key versions destroyed: {', '.join(sc['key_ids']) or 'none'}",
        f"  Credentials revoked: {revoked}",
        f"  Started {sc['started']}; keys destroyed {sc['keys_destroyed_at']}; finished {sc['finished']}",
        "",
        f"MEDIA DESTINATION: {report['media_destination']}",
        "",
        f"SIGNATURE: {report.get('algorithm', 'Ed25519')} by {report.get('signer')}: {report.get('sig')}",
        f"  Public key: {report.get('public_key')}",
        "",
        "VALIDATION",
        "  Name: (to be completed)   Title: (to be completed)   Organization: (to be completed)",
        "  Signature: (to be completed)   Date: (to be completed)",
    ]
    return "\n".join(lines) + "\n"
