"""Credentials and accounts shared by the collectors of one JetStream cluster (docs/scale-out.md).

Each collector keeps its own ``credentials.json``, which its API and ``chronolog-collector
credentials`` on its host change. Every few seconds it merges that file with the cluster's copy
(a key of the catalog bucket, written by compare-and-set), both ways. The merge only adds: a
credential issued on any collector becomes known to all, and a revocation on any collector wins
on all (a revoked credential is never live again), so two collectors changing theirs at once
lose nothing of each other's.

Administrator and investigator accounts (``admins.json``, ``investigators.json``) are merged
the same way (`collector.auth.admins.merged_accounts`), under ``auth.admins`` and
``auth.investigators``: an account enrolled on any collector signs in on all, one disabled on
any is disabled on all, a TOTP code accepted by one is refused by the others once merged, and
failed attempts on every collector add up to one throttle (`collector.auth.failures`: one
record per collector, cleared by a later success anywhere). What goes to the cluster is what
the files hold: password hashes, TOTP secrets wrapped by the master key (as the tenant keys
beside them), and the accounts' TOTP and failure state. Names that are no account are
throttled by each collector alone, in memory (`collector.auth.login`). Nothing of an account is
logged but its name.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable

from collector.auth.admins import AdminAccounts
from collector.auth.credentials import CredentialStore
from collector.store import StoreUnavailable
from collector.store.jetstream.kv import KvText

__all__ = ["KEY", "share", "sync_accounts", "sync_credentials"]

log = logging.getLogger("collector.auth")

KEY = "auth.credentials"


async def sync_credentials(credentials: CredentialStore, cluster: KvText) -> bool:
    """One merge both ways; False when another collector wrote the cluster's copy meanwhile
    (the next one takes it in)."""
    doc, revision = await asyncio.to_thread(cluster.get, KEY)
    theirs = list(doc["credentials"]) if doc else []
    # In the loop's thread, as the API's own changes: none of them falls between read and write.
    both = credentials.merge_in(theirs)
    if both == theirs:
        return True
    return await asyncio.to_thread(cluster.put_if, KEY, {"version": 1, "credentials": both}, revision)


async def sync_accounts(accounts: AdminAccounts, cluster: KvText) -> bool:
    """One merge of an account file both ways; False when another collector wrote the
    cluster's copy meanwhile (the next one takes it in)."""
    key = f"auth.{accounts.role}s"
    doc, revision = await asyncio.to_thread(cluster.get, key)
    theirs = list(doc["accounts"]) if doc else []
    both = await asyncio.to_thread(accounts.merge_in, theirs)
    if both == theirs:
        return True
    return await asyncio.to_thread(cluster.put_if, key, {"version": 1, "accounts": both}, revision)


async def share(credentials: CredentialStore, accounts: list[AdminAccounts], cluster: KvText,
                interval: float = 2.0) -> None:
    """Merge the credentials and every account file every ``interval`` seconds until
    cancelled; a cluster that does not answer is said and tried again (the collector's own
    files keep working meanwhile)."""
    merges: list[tuple[str, Callable[[], Awaitable[bool]]]] = [
        ("credentials", functools.partial(sync_credentials, credentials, cluster)),
        *((f"{a.role}s", functools.partial(sync_accounts, a, cluster)) for a in accounts)]
    while True:
        for what, merge in merges:
            try:
                await merge()
            except StoreUnavailable as e:
                log.warning("sharing with the cluster failed; will retry",
                            extra={"what": what, "error": str(e)})
        await asyncio.sleep(interval)
