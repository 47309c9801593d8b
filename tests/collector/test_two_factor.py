from __future__ import annotations

import base64
import hashlib
import hmac
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.auth.passwords import hash_password, verify_password
from collector.auth.totp import FREE_FAILURES, STEP, TotpState, check_code, new_secret, provisioning_uri

NOW = 1_764_200_000.0


def rfc6238(secret: bytes, at: float) -> str:
    """RFC 6238 written out independently of pyotp, to check the codes we accept."""
    counter = struct.pack(">Q", int(at // STEP))
    mac = hmac.new(secret, counter, hashlib.sha256).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**6:06d}"


def test_rfc6238_sha256_test_vector() -> None:
    # RFC 6238 appendix B, SHA256 seed, T = 59 s: 46119246 (8 digits); we use the last 6.
    seed = b"12345678901234567890123456789012"
    assert rfc6238(seed, 59) == "119246"
    state = check_code(seed, "119246", TotpState(), now=59)
    assert state.ok


def test_password_round_trip_and_format() -> None:
    stored = hash_password("correct horse battery staple")
    scheme, iterations, salt, digest = stored.split("$")
    assert (scheme, int(iterations)) == ("pbkdf2_sha256", 600_000)
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert verify_password("correct horse battery staple", stored)
    assert not verify_password("correct horse battery stapler", stored)
    assert hash_password("same") != hash_password("same")  # salted


@pytest.mark.parametrize("stored", ["", "pbkdf2_sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
                                    "md5$1$x$y", "pbkdf2_sha256$x$y$z", "a$b"])
def test_malformed_or_weak_records_never_verify(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_fewer_iterations_are_refused_when_hashing() -> None:
    with pytest.raises(ValueError):
        hash_password("pw", iterations=100_000)


def test_a_code_is_accepted_once() -> None:
    secret = new_secret()
    code = rfc6238(secret, NOW)
    first = check_code(secret, code, TotpState(), NOW)
    assert first.ok
    again = check_code(secret, code, first.state, NOW + 5)
    assert (again.ok, again.reason) == (False, "replayed")


def test_one_step_of_skew_either_way_and_no_more() -> None:
    secret = new_secret()
    assert check_code(secret, rfc6238(secret, NOW - STEP), TotpState(), NOW).ok
    assert check_code(secret, rfc6238(secret, NOW + STEP), TotpState(), NOW).ok
    assert check_code(secret, rfc6238(secret, NOW - 2 * STEP), TotpState(), NOW).reason == "wrong"


def test_an_older_code_after_a_newer_one_is_refused() -> None:
    secret = new_secret()
    newer = check_code(secret, rfc6238(secret, NOW), TotpState(), NOW)
    older = check_code(secret, rfc6238(secret, NOW - STEP), newer.state, NOW)
    assert older.reason == "replayed"


def test_a_wrong_password_counts_like_a_wrong_code() -> None:
    secret = new_secret()
    attempt = check_code(secret, rfc6238(secret, NOW), TotpState(), NOW, password_ok=False)
    assert (attempt.ok, attempt.reason, attempt.state.failures) == (False, "wrong", 1)


def test_repeated_failures_are_throttled_even_for_the_right_code() -> None:
    secret = new_secret()
    state = TotpState()
    for i in range(FREE_FAILURES):
        state = check_code(secret, "000000" if rfc6238(secret, NOW) != "000000" else "111111",
                           state, NOW + i).state
    blocked = check_code(secret, rfc6238(secret, NOW + 10), state, NOW + 10)
    assert (blocked.ok, blocked.reason) == (False, "throttled") and blocked.retry_after > 0
    later = NOW + FREE_FAILURES + 31
    assert check_code(secret, rfc6238(secret, later), state, later).ok


@settings(max_examples=50)
@given(st.integers(0, 10))
def test_throttle_waits_grow_with_failures(extra: int) -> None:
    secret = new_secret()
    state = TotpState(failures=FREE_FAILURES + extra, last_failure=NOW)
    wait = check_code(secret, rfc6238(secret, NOW), state, NOW).retry_after
    assert wait == min(3600.0, 30.0 * 2**extra)


def test_the_enrolment_uri_names_sha256() -> None:
    uri = provisioning_uri(new_secret(), "alice")
    assert uri.startswith("otpauth://totp/chronolog:alice?") and "algorithm=SHA256" in uri
