from __future__ import annotations

import ssl
import subprocess
import sys

import pytest

from chronolog.tls import (
    LEVELS,
    TLS12_SUITES,
    TLS13_SUITES,
    PolicyError,
    check_policy,
    openssl_conf_text,
    profile_path,
)


@pytest.mark.parametrize("level", LEVELS)
def test_shipped_profiles_are_the_generated_ones(level: str) -> None:
    assert profile_path(level).read_text() == openssl_conf_text(level)  # type: ignore[arg-type]


def test_only_listed_algorithms_appear_in_any_level() -> None:
    for level in LEVELS:
        for suite in TLS12_SUITES[level]:
            assert suite.startswith("ECDHE-") and ("GCM" in suite or "CHACHA20" in suite)
        text = openssl_conf_text(level)
        for banned in ("CBC", "SHA1", "MD5", "RC4", "3DES", "DHE-RSA", "X25519", "CCM"):
            assert banned not in text.replace("ECDHE", "")
    assert not any("CHACHA" in s for s in TLS13_SUITES["strict-aes"] + TLS12_SUITES["strict-aes"])


def test_a_context_with_openssl_defaults_is_refused() -> None:
    """In this process OpenSSL runs without the profile, so TLS 1.3 still offers ChaCha20."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(":".join(TLS12_SUITES["strict-aes"]))
    with pytest.raises(PolicyError) as info:
        check_policy(ctx, "strict-aes")
    assert "TLS_CHACHA20_POLY1305_SHA256" in str(info.value)


@pytest.mark.parametrize("level", LEVELS)
def test_under_its_profile_each_level_passes_its_own_check(level: str) -> None:
    code = (f"from chronolog.tls import client_context; client_context({level!r}); print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"OPENSSL_CONF": str(profile_path(level)), "PATH": "/usr/bin:/bin"})  # type: ignore[arg-type]
    assert result.stdout.strip() == "ok", result.stderr
