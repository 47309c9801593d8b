"""A tenant's retention policy and legal holds in the cluster's catalog bucket, so that every
collector sees what any of them set (docs/scale-out.md), and the signed expiry records that
say which segments retention removed.

Entries (``<tenant>`` as in the tenant's name):

- ``hold.<tenant>.<id>``: one legal hold (`Hold.to_dict`), created once, released by
  compare-and-set on its revision (a release is never undone, a hold never released twice);
- ``policy.<tenant>``: the tenant's retention in days, and a counter every change of what
  retention may remove moves (a new hold, a new retention): the **fence**. An expiry is
  decided against one revision of it and recorded only if it is still that revision, so a
  hold placed on another collector while retention was deciding is never overlooked;
- ``expire.<tenant>.<k>``: the ``k``-th signed expiry record ``{kind: expire, numbers, at,
  reason}``, the local store's checkpoint record, applied by every collector's copy of the
  catalog in order (mirror.py).
"""

from __future__ import annotations

from typing import Any

from collector.store.catalog import Hold
from collector.store.jetstream.kv import KvText

__all__ = ["KvPolicy", "expiry_key"]


def expiry_key(tenant: str, k: int) -> str:
    return f"expire.{tenant}.{k:08d}"


class KvPolicy:
    """Blocking reads and compare-and-set writes of one cluster's tenant policies."""

    def __init__(self, text: KvText) -> None:
        self.text = text

    # ---- the fence and the retention -------------------------------------------------------

    def policy(self, tenant: str) -> tuple[dict[str, Any], int]:
        """The tenant's policy document (empty when never set) and its revision (0: absent)."""
        doc, revision = self.text.get(f"policy.{tenant}")
        return doc or {}, revision

    def _change(self, tenant: str, **changes: Any) -> None:
        """Move the fence (and set ``changes``), whatever else moved it meanwhile."""
        for _ in range(50):
            doc, revision = self.policy(tenant)
            doc = {**doc, **changes, "changes": int(doc.get("changes", 0)) + 1}
            if self.text.put_if(f"policy.{tenant}", doc, revision):
                return
        raise RuntimeError(f"the policy of tenant {tenant} keeps changing under this collector")

    def retention_days(self, tenant: str) -> int | None:
        days = self.policy(tenant)[0].get("retention_days")
        return int(days) if days is not None else None

    def set_retention_days(self, tenant: str, days: int) -> None:
        self._change(tenant, retention_days=days)

    def decided(self, tenant: str, doc: dict[str, Any], revision: int) -> bool:
        """Record that an expiry was decided on ``doc`` at the fence's ``revision``: False
        when the fence moved since (a hold or a retention set meanwhile, or another expiry)."""
        return self.text.put_if(f"policy.{tenant}", {**doc, "changes": int(doc.get("changes", 0)) + 1},
                                revision)

    # ---- legal holds ---------------------------------------------------------------------------

    def holds(self, tenant: str, active_only: bool = True) -> list[Hold]:
        found = []
        for key in self.text.keys(f"hold.{tenant}."):
            doc = self.text.get(key)[0]
            if doc is not None:
                found.append(Hold(**doc))
        return sorted((h for h in found if not active_only or h.released is None), key=lambda h: h.created)

    def add_hold(self, tenant: str, hold: Hold) -> None:
        """The hold's entry, then the fence: an expiry deciding before the entry existed
        finds the fence moved and decides again."""
        if not self.text.put_if(f"hold.{tenant}.{hold.id}", hold.to_dict(), 0):
            raise RuntimeError(f"hold {hold.id} exists already")
        self._change(tenant)

    def release_hold(self, tenant: str, hold_id: str, at: int, by: str) -> bool:
        key = f"hold.{tenant}.{hold_id}"
        for _ in range(50):
            doc, revision = self.text.get(key)
            if doc is None or doc.get("released") is not None:
                return False
            if self.text.put_if(key, {**doc, "released": at, "released_by": by}, revision):
                return True
        raise RuntimeError(f"hold {hold_id} keeps changing under this collector")

    # ---- expiry records ------------------------------------------------------------------------

    def expiry(self, tenant: str, k: int) -> dict[str, Any] | None:
        return self.text.get(expiry_key(tenant, k))[0]

    def record_expiry(self, tenant: str, k: int, record: dict[str, Any]) -> bool:
        """Create the ``k``-th expiry record; False when it exists (another collector's)."""
        return self.text.put_if(expiry_key(tenant, k), record, 0)

    def purge(self, tenant: str) -> None:
        """Every policy entry of the tenant (its erasure)."""
        for prefix in (f"hold.{tenant}.", f"expire.{tenant}."):
            for key in self.text.keys(prefix):
                self.text.purge(key)
        self.text.purge(f"policy.{tenant}")
