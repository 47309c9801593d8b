"""At every start, the collector's effective configuration, its digest and what changed since
the previous start, as an entry of the audit trail (issue 16; seed #6: no private setting
silently becomes public). A change that widens exposure is named in the entry, counted in
``chronolog_collector_config_exposure_widened_total{setting}`` (recounted from the trail at
every start, like guarded operations) and alerted on (docs/runbooks/security.md).

The configuration is the ``[collector]`` table as loaded (defaults filled in) and who may
administer which tenant (``admins.json``: names and scopes, never secrets).
"""

from __future__ import annotations

import logging
from typing import Any

from chronolog.config_audit import (
    Rule,
    changes,
    digest,
    leaves_loopback,
    longer,
    shorter_retention,
    switched_on,
    turned_off,
    weaker_level,
    widened,
)
from collector.admin.audit import AuditTrail
from collector.auth.admins import AdminAccounts
from collector.auth.credentials import ALL_TENANTS
from collector.config import CollectorConfig

__all__ = ["ACTION", "RULES", "effective", "record_start", "setting_of", "settings"]

log = logging.getLogger("collector")

ACTION = "config"


def _admin_widens(before: Any, after: Any) -> bool:
    """A new administrator, or one who now administers every tenant."""
    return after is not None and (before is None or (after == ALL_TENANTS and before != ALL_TENANTS))


RULES: list[Rule] = [
    ("collector.api.listen", leaves_loopback, "the API now listens beyond loopback"),
    ("collector.metrics.listen", leaves_loopback, "the metrics now listen beyond loopback"),
    ("collector.tls.cert_file", turned_off, "TLS was turned off"),
    ("collector.tls.level", weaker_level, "a weaker TLS level"),
    ("collector.tls.session_tickets", switched_on, "TLS session tickets were turned on"),
    ("collector.admin.session_seconds", longer, "administrator sessions last longer"),
    ("collector.console.enabled", switched_on, "the investigators' console (/console/) was turned on"),
    ("collector.console.session_seconds", longer, "console sessions last longer"),
    ("collector.store.retention_days", shorter_retention, "the default retention is shorter"),
    ("access.admins.*", _admin_widens, "an administrator was added, or given every tenant"),
]


def settings() -> list[str]:
    """The metric's label values: one per rule."""
    return [pattern.removesuffix(".*") for pattern, _, _ in RULES]


def setting_of(key: str) -> str:
    """The label a widened setting counts under (an administrator's name is not a label)."""
    return next((s for s in settings() if key == s or key.startswith(f"{s}.")), "other")


def effective(config: CollectorConfig, accounts: AdminAccounts) -> dict[str, Any]:
    return {"collector": config.model_dump(mode="json"),
            "access": {"admins": {a.name: a.scope for a in accounts.accounts() if a.disabled is None}}}


def record_start(trail: AuditTrail, config: CollectorConfig, accounts: AdminAccounts) -> dict[str, Any]:
    """Append this start's entry (blocking); returns it."""
    now = effective(config, accounts)
    previous = None
    for entry in trail.entries():
        if entry.get("action") == ACTION and isinstance(entry.get("details", {}).get("config"), dict):
            previous = entry["details"]["config"]
    found = changes(previous, now)
    wide = widened(found, RULES)
    for w in wide:
        log.warning("configuration widens exposure", extra={"setting": w["setting"], "why": w["why"],
                                                            "before": w["before"], "after": w["after"]})
    outcome = "widened" if wide else "changed" if found else "first" if previous is None else "unchanged"
    return trail.append(None, ACTION, None, outcome, {
        "digest": digest(now), "previous": None if previous is None else digest(previous),
        "changes": [{"setting": c.key, "before": c.before, "after": c.after} for c in found],
        "widened": wide, "config": now}, name="chronolog-collector")
