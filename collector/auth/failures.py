"""An account's failed sign-in attempts, kept so that several collectors throttle it as one
(docs/scale-out.md): the part of an account's state that ``admins.json`` and
``investigators.json`` hold and `collector.auth.admins.merged_accounts` merges.

The state (its JSON form, in the account's ``state``)::

    {"last_step": 1000,            # the newest TOTP step accepted anywhere
     "success": 1764200000.0,      # the newest accepted login anywhere (seconds since the epoch)
     "failed": {"<collector>": {"count": 3, "last": 1764200100.0}}}

**The rule: one failure record per collector, summed; a success clears what is older.** Each
collector counts only its own failures, in its own record (``count`` since the newest success
it knew of, ``last``: its newest one). A merge takes, per collector, the newer version of its
record (only that collector writes it, and its ``last`` only grows), the newest ``success``
and the newest ``last_step``, then drops every record whose ``last`` is not after
``success``. The account is throttled on the sum of the records left
(`collector.auth.totp.wait_needed`, with the newest ``last``).

Why this one, rather than keeping whichever state has the newest event: two collectors
attacked at once each hold failures the other has not seen, and keeping one state would drop
the other's; with a record per collector nothing is lost, and N collectors give an attacker no
more guesses than one. The merge is a max per field and per record, then a filter on the
merged ``success``: commutative, associative and idempotent, so collectors that merge in any
order, or at once, agree. A success is only ever added (never undone by a merge), and a
record older than it can come back from no copy, however stale.

What it costs: a collector's record that straddles a success it had not yet heard of (failures
before and after it, within the ~2 s between merges) stays whole, counting its failures from
before the success too: the throttle errs towards waiting. Times are each collector's clock
(collectors are expected to keep theirs verified): a success on a collector whose clock is
ahead clears another's failures made in that lead before the success reached it (a failure
recorded after it is dated after it).

Files written before this module have ``failures`` and ``last_failure`` instead of records:
they are read as one record of an unnamed collector, still cleared by the next success. The
totals are also written beside the records, as those two fields, for the reader's eye and for
older collectors.
"""

from __future__ import annotations

import math
from typing import Any

from collector.auth.totp import TotpState

__all__ = ["LEGACY", "initial", "merged_state", "read_state", "throttle_view", "with_failure",
           "with_success"]

LEGACY = ""  # the record of failures counted before collectors shared them

State = dict[str, Any]


def initial() -> State:
    return {"last_step": -1, "success": 0.0, "failed": {}, "failures": 0, "last_failure": 0.0}


def read_state(doc: dict[str, Any] | None) -> State:
    """An account's ``state`` as stored (any version; missing fields have their defaults),
    with the records a success cleared dropped."""
    doc = doc or {}
    if "failed" in doc:
        records = {str(k): {"count": int(r["count"]), "last": float(r["last"])}
                   for k, r in doc["failed"].items()}
    elif int(doc.get("failures", 0)) > 0:
        records = {LEGACY: {"count": int(doc["failures"]), "last": float(doc.get("last_failure", 0.0))}}
    else:
        records = {}
    return _pruned(int(doc.get("last_step", -1)), float(doc.get("success", 0.0)), records)


def throttle_view(state: State) -> TotpState:
    """What the login decision needs: the newest accepted step, the failures since the newest
    success on any collector, and when the newest of them happened."""
    return TotpState(state["last_step"], state["failures"], state["last_failure"])


def with_failure(state: State, collector: str, now: float) -> State:
    """``state`` after a failed attempt on ``collector`` at ``now``."""
    mine = state["failed"].get(collector, {"count": 0, "last": 0.0})
    # A record's newest version has the greatest ``last`` (the merge keeps that one); and a
    # failure after a success this collector knows of is after it, whatever the clocks say.
    last = max(now, mine["last"], math.nextafter(state["success"], math.inf))
    records = {**state["failed"], collector: {"count": mine["count"] + 1, "last": last}}
    return _pruned(state["last_step"], state["success"], records)


def with_success(state: State, step: int, now: float) -> State:
    """``state`` after an accepted login at ``now`` with the code of time step ``step``."""
    return _pruned(max(state["last_step"], step), max(state["success"], now), state["failed"])


def merged_state(a: State, b: State) -> State:
    """Two copies of one account's state as one (commutative, associative, idempotent)."""
    records = dict(a["failed"])
    for collector, record in b["failed"].items():
        known = records.get(collector)
        if known is None or (record["last"], record["count"]) > (known["last"], known["count"]):
            records[collector] = record
    return _pruned(max(a["last_step"], b["last_step"]), max(a["success"], b["success"]), records)


def _pruned(last_step: int, success: float, records: dict[str, dict[str, Any]]) -> State:
    live = {k: dict(r) for k, r in sorted(records.items()) if r["last"] > success}
    return {"last_step": last_step, "success": success, "failed": live,
            "failures": sum(r["count"] for r in live.values()),
            "last_failure": max((r["last"] for r in live.values()), default=0.0)}
