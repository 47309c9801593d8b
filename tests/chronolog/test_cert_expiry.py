"""A certificate's expiry read without `cryptography` gives what `cryptography` reads, for the
certificates the project makes and for the shapes X.509 allows (v1 without a version field,
UTCTime and GeneralizedTime, long lengths, a PEM with a chain); anything else is a
`CertificateError`, never another exception; and the agent reads its client certificate's
expiry without loading `cryptography` (about 9 MB of its memory budget)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st
from support.pki import make_ca

from chronolog.cert_expiry import CertificateError, not_after


def certificate(expires: dt.datetime, key_type: str = "ec", long_name: bool = False) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1()) if key_type == "ec" else rsa.generate_private_key(
        public_exponent=65537, key_size=2048)
    # A long issuer name makes the issuer's length take the long form (over 127 bytes).
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x" * (60 if long_name else 8)),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "o" * (60 if long_name else 1))])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC)).not_valid_after(expires))
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def pem_of(der: bytes) -> bytes:
    return b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der) + b"-----END CERTIFICATE-----\n"


@functools.cache
def some_der() -> bytes:
    pem = certificate(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("expires", [
    dt.datetime(2027, 3, 4, 5, 6, 7, tzinfo=dt.UTC),  # UTCTime
    dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.UTC),  # the last UTCTime year
    dt.datetime(2050, 1, 1, tzinfo=dt.UTC),  # GeneralizedTime from here on
    dt.datetime(2120, 6, 1, 12, 0, 0, tzinfo=dt.UTC),
])
@pytest.mark.parametrize("key_type", ["ec", "rsa"])
@pytest.mark.parametrize("long_name", [False, True])
def test_the_expiry_is_cryptographys(expires: dt.datetime, key_type: str, long_name: bool) -> None:
    pem = certificate(expires, key_type, long_name)
    assert not_after(pem) == x509.load_pem_x509_certificate(pem).not_valid_after_utc.timestamp()
    assert not_after(pem) == expires.timestamp()


def test_the_projects_own_ca_certificates_and_the_first_of_a_chain(tmp_path: Path) -> None:
    ca = make_ca(tmp_path / "ca")
    issued = ca.issue_server(["localhost"])
    _, cert_path = issued.write(tmp_path, "server")
    chain = cert_path.read_bytes() + ca.cert_file.read_bytes()
    first = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert not_after(chain) == first.not_valid_after_utc.timestamp()


def test_a_v1_certificate_without_a_version_field() -> None:
    # cryptography only writes v3: remove the [0] version element from a real certificate's
    # DER by hand and fix the two enclosing lengths (notAfter is read before the signature).
    pem = certificate(dt.datetime(2031, 1, 2, tzinfo=dt.UTC), "rsa")  # lengths over 255: two bytes each
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    assert der[0] == 0x30 and der[1] == 0x82 and der[4] == 0x30 and der[5] == 0x82
    assert der[8:13] == b"\xa0\x03\x02\x01\x02"
    outer, inner = int.from_bytes(der[2:4], "big") - 5, int.from_bytes(der[6:8], "big") - 5
    v1 = b"\x30\x82" + outer.to_bytes(2, "big") + b"\x30\x82" + inner.to_bytes(2, "big") + der[13:]
    assert not_after(pem_of(v1)) == dt.datetime(2031, 1, 2, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize("pem", [b"", b"hello", pem_of(b"!!!"), pem_of(b"\x30\x00")])
def test_what_is_not_a_certificate_is_said(pem: bytes) -> None:
    with pytest.raises(CertificateError):
        not_after(pem)


@given(st.data())
def test_any_damage_is_a_certificate_error_or_a_date(data: st.DataObject) -> None:
    der = bytearray(some_der())
    cut = data.draw(st.integers(0, len(der)))
    for _ in range(data.draw(st.integers(0, 4))):
        der[data.draw(st.integers(0, len(der) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(CertificateError):
        assert isinstance(not_after(pem_of(bytes(der[:cut]))), float)


def test_the_agent_reads_its_certificates_expiry_without_cryptography(tmp_path: Path) -> None:
    pem = certificate(dt.datetime(2030, 5, 6, tzinfo=dt.UTC))
    (tmp_path / "client.crt").write_bytes(pem)
    probe = ("import sys; import agent.app; from chronolog.tls import certificate_expiry; "
             f"print(certificate_expiry(__import__('pathlib').Path({str(tmp_path / 'client.crt')!r}))); "
             "print(sorted(m for m in sys.modules if m.startswith('cryptography')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [str(dt.datetime(2030, 5, 6, tzinfo=dt.UTC).timestamp()), "[]"]
