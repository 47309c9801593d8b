"""Failed logins shared by several collectors (collector/auth/failures.py): the merge rule on
its own, and through the account files and the login decision (real files, real PBKDF2, a
clock the test sets). Over a real NATS cluster: tests/collector/test_shared_accounts.py."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from support.admins import PASSWORD, Authenticator, Clock
from support.stores import master_keys

from collector.auth import failures
from collector.auth.admins import AdminAccounts, merged_accounts
from collector.auth.login import LoginGate
from collector.auth.totp import FREE_FAILURES, STEP, wait_needed

NOW = 1_764_200_000.0
COLLECTORS = ("a", "b", "c")


# ---- the merge rule -------------------------------------------------------------------------

def replay(events: list[tuple[str, str, float]]) -> failures.State:
    """A state made by ``events`` (kind, collector, time), as one collector would record them."""
    state = failures.read_state(None)
    for kind, collector, at in events:
        state = (failures.with_failure(state, collector, at) if kind == "fail"
                 else failures.with_success(state, int(at // STEP), at))
    return state


event = st.tuples(st.sampled_from(["fail", "fail", "fail", "ok"]), st.sampled_from(COLLECTORS),
                  st.floats(NOW, NOW + 600, allow_nan=False).map(round))
histories = st.lists(event, max_size=12)


@settings(max_examples=200)
@given(st.lists(histories, min_size=1, max_size=4))
def test_merging_in_any_order_or_twice_gives_the_same_state(copies: list[list[Any]]) -> None:
    states = [replay(h) for h in copies]
    results = []
    for order in itertools.permutations(states):
        merged = order[0]
        for other in order[1:]:
            merged = failures.merged_state(merged, other)
        results.append(merged)
    assert all(r == results[0] for r in results)
    # Idempotent: taking in a copy already taken in changes nothing.
    for state in states:
        assert failures.merged_state(results[0], state) == results[0]


def test_failures_on_two_collectors_add_up_to_the_throttle() -> None:
    on_a = replay([("fail", "a", NOW + i) for i in range(3)])
    on_b = replay([("fail", "b", NOW + i) for i in range(FREE_FAILURES - 3)])
    for state in (on_a, on_b):
        assert wait_needed(failures.throttle_view(state), NOW + 10) == 0  # neither alone
    both = failures.merged_state(on_a, on_b)
    view = failures.throttle_view(both)
    assert (view.failures, view.last_failure) == (FREE_FAILURES, NOW + 2)
    assert wait_needed(view, NOW + 10) > 0


def test_a_later_success_clears_and_a_stale_copy_does_not_throttle_again() -> None:
    attacked = replay([("fail", "b", NOW + i) for i in range(FREE_FAILURES + 2)])
    assert wait_needed(failures.throttle_view(attacked), NOW + 10) > 0
    # A (which had taken B's failures in) accepts a login after the wait; B's copy is stale.
    success = failures.with_success(failures.merged_state(replay([]), attacked), 58_806_700, NOW + 3000)
    for merged in (failures.merged_state(attacked, success), failures.merged_state(success, attacked)):
        view = failures.throttle_view(merged)
        assert (view.failures, view.last_step) == (0, 58_806_700)
    # A failure on B after it: counted from one, not on top of the cleared ones.
    after = failures.with_failure(failures.merged_state(attacked, success), "b", NOW + 3001)
    assert failures.throttle_view(failures.merged_state(after, attacked)).failures == 1


def test_a_success_does_not_clear_failures_made_after_it_elsewhere() -> None:
    success = replay([("fail", "a", NOW), ("ok", "a", NOW + 100)])
    later = replay([("fail", "b", NOW + 101 + i) for i in range(FREE_FAILURES)])
    merged = failures.merged_state(success, later)
    assert failures.throttle_view(merged).failures == FREE_FAILURES


def test_a_failure_after_a_known_success_counts_even_on_a_clock_behind() -> None:
    success = replay([("ok", "a", NOW + 100)])  # A's clock is ahead of B's
    on_b = replay([("fail", "b", NOW + 50)])
    behind = failures.with_failure(failures.merged_state(on_b, success), "b", NOW + 51)
    assert failures.throttle_view(failures.merged_state(behind, success)).failures == 1


def test_a_state_written_before_failures_were_shared_is_read_with_its_failures() -> None:
    old = {"last_step": 7, "failures": FREE_FAILURES, "last_failure": NOW}
    view = failures.throttle_view(failures.read_state(old))
    assert (view.last_step, view.failures, view.last_failure) == (7, FREE_FAILURES, NOW)
    assert wait_needed(view, NOW + 1) > 0
    assert failures.throttle_view(failures.read_state(None)) == failures.throttle_view(failures.initial())
    # The next success clears them like any collector's.
    cleared = failures.with_success(failures.read_state(old), 8, NOW + 60)
    assert failures.throttle_view(cleared).failures == 0


# ---- through the account files and the login decision ---------------------------------------

def test_an_account_file_from_before_keeps_its_throttle(tmp_path: Path) -> None:
    accounts = AdminAccounts(tmp_path / "admins.json", master_keys(tmp_path / "store"), collector="a")
    accounts.add("root", "*", PASSWORD)
    doc = orjson.loads(accounts.path.read_bytes())
    doc["admins"][0]["state"] = {"last_step": 3, "failures": FREE_FAILURES + 1, "last_failure": NOW}
    accounts.path.write_bytes(orjson.dumps(doc))
    found = accounts.get("root")
    assert found is not None and (found.state.last_step, found.state.failures) == (3, FREE_FAILURES + 1)
    del doc["admins"][0]["state"]  # no state at all: a fresh one
    accounts.path.write_bytes(orjson.dumps(doc))
    found = accounts.get("root")
    assert found is not None and (found.state.last_step, found.state.failures) == (-1, 0)


def exchange(files: list[AdminAccounts]) -> None:
    """What the cluster's merges do, without the cluster: every file takes in every other."""
    for _ in range(2):  # the second round brings each the others' first-round merges
        for mine, theirs in itertools.permutations(files, 2):
            if theirs.path.exists():
                mine.merge_in(orjson.loads(theirs.path.read_bytes())["admins"])


async def test_logins_on_two_collectors_throttle_as_one_and_a_success_on_one_clears_both(
        tmp_path: Path) -> None:
    master = master_keys(tmp_path / "store")
    on_a = AdminAccounts(tmp_path / "a" / "admins.json", master, collector="a")
    on_b = AdminAccounts(tmp_path / "b" / "admins.json", master, collector="b")
    phone = Authenticator(on_a.add("root", "*", PASSWORD).base32)
    exchange([on_a, on_b])
    clock = Clock(NOW)
    gate_a, gate_b = LoginGate(on_a, clock), LoginGate(on_b, clock)
    step = int(NOW // STEP)
    wrong_code = next(c for c in ("000000", "111111") if c != phone.code_at(step))
    for _ in range(3):  # a wrong password on A ...
        assert (await gate_a.attempt("root", "not the password", phone.code_at(step))).reason == "wrong"
    for _ in range(FREE_FAILURES - 3):  # ... and a wrong code on B
        assert (await gate_b.attempt("root", PASSWORD, wrong_code)).reason == "wrong"
    exchange([on_a, on_b])
    for gate in (gate_a, gate_b):  # even the right factors wait now, on both
        assert (await gate.attempt("root", PASSWORD, phone.code_at(step))).reason == "throttled"
    clock.now += 31
    step = int(clock.now // STEP)
    assert (await gate_a.attempt("root", PASSWORD, phone.code_at(step))).ok
    exchange([on_a, on_b])
    for accounts in (on_a, on_b):
        found = accounts.get("root")
        assert found is not None and (found.state.failures, found.state.last_step) == (0, step)
    assert (await gate_b.attempt("root", PASSWORD, phone.code_at(step))).reason == "replayed"


def test_the_shared_copy_holds_each_collectors_failures_apart(tmp_path: Path) -> None:
    master = master_keys(tmp_path / "store")
    on_a = AdminAccounts(tmp_path / "a" / "admins.json", master, collector="a")
    on_a.add("root", "*", PASSWORD)
    on_a.record_failure("root", NOW)
    on_a.record_failure("root", NOW + 1)
    mine = orjson.loads(on_a.path.read_bytes())["admins"]
    theirs = [{**mine[0], "state": failures.with_failure(failures.read_state(None), "b", NOW + 2)}]
    merged = merged_accounts(mine, theirs, master.current())
    assert merged[0]["state"]["failed"] == {"a": {"count": 2, "last": NOW + 1},
                                            "b": {"count": 1, "last": NOW + 2}}
    assert merged == merged_accounts(theirs, mine, master.current())
