"""A small private certificate authority for test and small deployments.

ECDSA P-256 keys and SHA-256 signatures only (CRYPTREC: ECDSA with P-256 and SHA-256 are
listed). Leaf certificates live one year at most (cryptrec.md 6.6). The CA key stays in
``<data_dir>/ca/ca.key`` (0600); a larger deployment would use its own PKI and only give the
collector the CA certificate that issued its agents' certificates.

Agent certificates carry their credential id as ``URI:chronolog:credential:<id>`` in the
subject alternative name; the collector identifies a client by the SHA-256 of the whole
certificate, so revoking the credential revokes the certificate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chronolog.fsutil import atomic_write

__all__ = ["CertificateAuthority", "IssuedCertificate", "certificate_digest"]

CA_LIFETIME = dt.timedelta(days=10 * 365)
LEAF_LIFETIME = dt.timedelta(days=365)


def certificate_digest(der: bytes) -> str:
    """SHA-256 of a DER certificate, hex: how the collector names a client certificate."""
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    key_pem: bytes
    cert_pem: bytes
    digest: str  # certificate_digest of the DER form

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write ``stem.key`` (0600) and ``stem.crt``; returns their paths."""
        key, cert = directory / f"{stem}.key", directory / f"{stem}.crt"
        atomic_write(key, self.key_pem, mode=0o600)
        atomic_write(cert, self.cert_pem, mode=0o644)
        return key, cert


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "chronolog"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class CertificateAuthority:
    """The CA whose files are in ``directory`` (``ca.key``, ``ca.crt``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key_file = directory / "ca.key"
        self.cert_file = directory / "ca.crt"

    def exists(self) -> bool:
        return self.key_file.exists() and self.cert_file.exists()

    def init(self, name: str = "chronolog private CA") -> None:
        """Create the CA key and self-signed certificate; refuses to replace an existing CA."""
        if self.key_file.exists() or self.cert_file.exists():
            raise FileExistsError(f"a CA already exists in {self.directory}")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = _new_key()
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name)).issuer_name(_name(name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        atomic_write(self.key_file, _key_pem(key), mode=0o600)
        atomic_write(self.cert_file, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)

    def _load(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{self.key_file} is not an ECDSA key")
        return key, x509.load_pem_x509_certificate(self.cert_file.read_bytes())

    def _issue(self, common_name: str, sans: list[x509.GeneralName],
               usage: x509.ObjectIdentifier) -> IssuedCertificate:
        ca_key, ca_cert = self._load()
        key = _new_key()
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + LEAF_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        der = cert.public_bytes(serialization.Encoding.DER)
        return IssuedCertificate(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM),
                                 certificate_digest(der))

    def issue_server(self, names: list[str]) -> IssuedCertificate:
        """A certificate for the collector, valid for these DNS names and IP addresses."""
        if not names:
            raise ValueError("a server certificate needs at least one DNS name or IP address")
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        return self._issue(names[0], sans, ExtendedKeyUsageOID.SERVER_AUTH)

    def issue_client(self, name: str, credential_id: str) -> IssuedCertificate:
        """A certificate for one agent, naming its credential."""
        sans: list[x509.GeneralName] = [
            x509.UniformResourceIdentifier(f"chronolog:credential:{credential_id}")
        ]
        return self._issue(name, sans, ExtendedKeyUsageOID.CLIENT_AUTH)
