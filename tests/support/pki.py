"""Test certificates, made by the tests with the project's own CA helper (nothing stored in
the repository)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from collector.auth.ca import CertificateAuthority


def make_ca(directory: Path) -> CertificateAuthority:
    ca = CertificateAuthority(directory)
    ca.init("chronolog test CA")
    return ca


def server_cert(ca: CertificateAuthority, directory: Path,
                names: list[str] | None = None) -> tuple[Path, Path]:
    """An ECDSA P-256 certificate (default: for localhost and 127.0.0.1); returns (cert, key)."""
    key, cert = ca.issue_server(names or ["localhost", "127.0.0.1"]).write(directory, "server")
    return cert, key


def server_cert_with(ca: CertificateAuthority, directory: Path, key: Any, days: int = 30,
                     name: str = "server") -> tuple[Path, Path]:
    """A certificate for localhost from ``ca`` with a key made by the caller (any type and size),
    valid ``days``; returns (cert, key)."""
    ca_key = serialization.load_pem_private_key(ca.key_file.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_file.read_bytes())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def rsa_server_cert(ca: CertificateAuthority, directory: Path) -> tuple[Path, Path]:
    """An RSA-3072 server certificate (to probe RSA key exchange); returns (cert, key)."""
    return server_cert_with(ca, directory, rsa.generate_private_key(public_exponent=65537, key_size=3072),
                            name="rsa")
