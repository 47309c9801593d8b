"""Administrator and investigator accounts shared by the collectors of one JetStream cluster
(collector/auth/shared.py), against a real 3-node NATS cluster on loopback: each collector keeps
its own file, merged with the cluster's copy both ways."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
from support.admins import Authenticator, Clock
from support.jetstream import stores
from support.nats import NatsCluster

from collector.auth.admins import AdminAccounts
from collector.auth.login import LoginGate
from collector.auth.shared import sync_accounts
from collector.auth.totp import FREE_FAILURES, STEP
from collector.store.jetstream.store import JetStreamStore

PASSWORD = "correct horse battery"


async def sync_all(pairs: list[tuple[AdminAccounts, JetStreamStore]]) -> None:
    for accounts, store in [*pairs, pairs[0]]:
        assert await sync_accounts(accounts, store.text)


def admins_of(tmp_path: Path, a: JetStreamStore, b: JetStreamStore
              ) -> list[tuple[AdminAccounts, JetStreamStore]]:
    """Collector A's and B's ``admins.json``, each in its own data_dir, with its store."""
    return [(AdminAccounts(tmp_path / x / "admins.json", store.master), store)
            for x, store in (("a", a), ("b", b))]


async def test_an_account_enrolled_or_disabled_on_one_collector_holds_on_every_one(cluster: NatsCluster,
                                                                                   tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        pairs = admins_of(tmp_path, a, b)
        (on_a, _), (on_b, _) = pairs
        root = on_a.add("root", "*", PASSWORD)
        await sync_all(pairs)
        found = on_b.get("root")
        assert found is not None and on_b.secret(found) == root.secret  # signs in on B too
        # A code accepted by A is refused by B once merged.
        on_b.record_success("root", 990, 4.0)
        on_a.record_success("root", 1000, 5.0)
        await sync_all(pairs)
        for accounts in (on_a, on_b):
            found = accounts.get("root")
            assert found is not None and found.state.last_step == 1000
        # Disabled on B at the same time as another is enrolled on A: both changes hold on both.
        on_b.disable("root")
        ivan = on_a.add("ivan", "city", PASSWORD)
        await sync_all(pairs)
        for accounts in (on_a, on_b):
            assert accounts.get("root") is None  # never enabled again by a merge
            found = accounts.get("ivan")
            assert found is not None and accounts.secret(found) == ivan.secret
        # The cluster's copy: no secret but wrapped by the master key.
        shared = orjson.dumps(a.text.get("auth.admins")[0])
        for secret in (root.secret, ivan.secret):
            assert base64.b64encode(secret) not in shared and root.base32.encode() not in shared


async def test_a_name_enrolled_on_two_collectors_at_once_keeps_one_enrolment_everywhere(
        cluster: NatsCluster, tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        on_a = AdminAccounts(tmp_path / "a" / "investigators.json", a.master, "investigator")
        on_b = AdminAccounts(tmp_path / "b" / "investigators.json", b.master, "investigator")
        first, second = on_a.add("ivan", "city", PASSWORD), on_b.add("ivan", "city", PASSWORD)
        await sync_all([(on_a, a), (on_b, b)])
        kept_a, kept_b = on_a.get("ivan"), on_b.get("ivan")
        assert kept_a is not None and kept_b is not None
        assert kept_a == kept_b and on_a.secret(kept_a) in (first.secret, second.secret)
        assert a.text.get("auth.investigators")[0] is not None and a.text.get("auth.admins")[0] is None
        # Enrolled twice again, and disabled on B: disabled everywhere, whichever enrolment stands.
        on_a.add("eve", "city", PASSWORD)
        on_b.add("eve", "city", PASSWORD)
        on_b.disable("eve")
        await sync_all([(on_a, a), (on_b, b)])
        assert on_a.get("eve") is None and on_b.get("eve") is None


async def test_failed_logins_on_two_collectors_throttle_the_account_on_both(cluster: NatsCluster,
                                                                             tmp_path: Path) -> None:
    with stores(cluster, tmp_path) as [a, b]:
        # Each collector records its failures under its own name (made in its data_dir).
        pairs = admins_of(tmp_path, a, b)
        (on_a, _), (on_b, _) = pairs
        phone = Authenticator(on_a.add("root", "*", PASSWORD).base32)
        await sync_all(pairs)
        clock = Clock(1_764_200_000.0)
        gate_a, gate_b = LoginGate(on_a, clock), LoginGate(on_b, clock)
        step = int(clock.now // STEP)
        wrong_code = next(c for c in ("000000", "111111") if c != phone.code_at(step))
        for _ in range(FREE_FAILURES - 2):
            assert (await gate_a.attempt("root", PASSWORD, wrong_code)).reason == "wrong"
        for _ in range(2):
            assert (await gate_b.attempt("root", "not the password", phone.code_at(step))).reason == "wrong"
        await sync_all(pairs)
        for gate in (gate_a, gate_b):  # together they reach the throttle: the right factors wait
            assert (await gate.attempt("root", PASSWORD, phone.code_at(step))).reason == "throttled"
        # After the wait, accepted on B: once merged, A counts no failure and refuses the code.
        clock.now += 31
        step = int(clock.now // STEP)
        assert (await gate_b.attempt("root", PASSWORD, phone.code_at(step))).ok
        await sync_all(pairs)
        clock.now += 1
        assert (await gate_a.attempt("root", PASSWORD, phone.code_at(step))).reason == "replayed"
        found = on_a.get("root")
        assert found is not None and found.state.failures == 1  # the replay, not the five before
