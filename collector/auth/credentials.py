"""Credentials, each bound to one tenant and one role: bearer tokens and client certificates.

Tokens are shown once, when issued, and stored only as their SHA-256 digest in
``<data_dir>/credentials.json`` (mode 0600); a certificate credential is stored as the
SHA-256 of the certificate the private CA issued for it (`collector.auth.ca`). The tenant of
every request comes from the credential, never from anything else the client sends. The
collector re-reads the file when it changes, so issuing or revoking needs no restart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson
from cryptography import x509

from chronolog.fsutil import atomic_write
from collector.auth.ca import CertificateAuthority, IssuedCertificate, certificate_digest
from collector.store.names import TENANT_NAME

__all__ = ["ALL_TENANTS", "ROLES", "CredentialError", "CredentialStore", "Principal", "Role"]

Role = Literal["agent", "investigator", "admin"]
ROLES: tuple[Role, ...] = ("agent", "investigator", "admin")
ALL_TENANTS = "*"  # an admin credential's scope over every tenant (admin role only)
TOKEN_PREFIX = "clg_"  # noqa: S105 (a prefix, not a secret)


class CredentialError(ValueError):
    """A credential request that cannot be done (bad tenant name, unknown id, ...)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller a valid credential identifies."""

    credential_id: str
    tenant: str
    role: Role
    name: str


def _role(value: str | None) -> Role:
    if value not in ROLES:
        raise CredentialError(f"credentials file holds an unknown role {value!r}")
    return value


def _check(tenant: str, role: str) -> None:
    if role not in ROLES:
        raise CredentialError(f"invalid role {role!r}: expected one of {', '.join(ROLES)}")
    if tenant == ALL_TENANTS and role != "admin":
        raise CredentialError(f"tenant {ALL_TENANTS!r} (every tenant) is for the admin role only")
    if tenant != ALL_TENANTS and not TENANT_NAME.fullmatch(tenant):
        raise CredentialError(
            f"invalid tenant name {tenant!r}: expected 1-63 of a-z, 0-9, '-', '_', "
            "starting with a letter or digit (or '*' for an admin of every tenant)"
        )


def _new_id() -> str:
    return "c_" + secrets.token_hex(6)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CredentialStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._by_digest: dict[tuple[str, str], Principal] = {}
        self._loaded_stamp: tuple[int, int] | None = None

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a live token, or None."""
        self._reload_if_changed()
        if not token.startswith(TOKEN_PREFIX):
            return None
        return self._by_digest.get(("token", _digest(token)))

    def authenticate_certificate(self, der: bytes) -> Principal | None:
        """The principal of a live client certificate (already verified by TLS), or None."""
        self._reload_if_changed()
        return self._by_digest.get(("certificate", certificate_digest(der)))

    def _reload_if_changed(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._by_digest, self._loaded_stamp = {}, None
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._loaded_stamp:
            return
        self._by_digest = {
            (str(e.get("kind") or "token"), str(e["sha256"])):
                Principal(str(e["id"]), str(e["tenant"]), _role(e["role"]), str(e["name"]))
            for e in self._entries()
            if e.get("revoked") is None
        }
        self._loaded_stamp = stamp

    def _entries(self) -> list[dict[str, str | None]]:
        try:
            doc = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return []
        entries: list[dict[str, str | None]] = doc["credentials"]
        return entries

    def issue(self, tenant: str, role: Role, name: str) -> tuple[str, str]:
        """Create a token credential; returns ``(credential id, token)``. The token is not stored."""
        _check(tenant, role)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        credential_id = _new_id()
        self._add(credential_id, tenant, role, name, "token", _digest(token))
        return credential_id, token

    def issue_certificate(self, tenant: str, role: Role, name: str,
                          ca: CertificateAuthority) -> tuple[str, IssuedCertificate]:
        """Create a certificate credential signed by ``ca``; the private key is not stored."""
        _check(tenant, role)
        credential_id = _new_id()
        issued = ca.issue_client(name, credential_id)
        expires = x509.load_pem_x509_certificate(issued.cert_pem).not_valid_after_utc
        self._add(credential_id, tenant, role, name, "certificate", issued.digest,
                  expires.isoformat(timespec="seconds"))
        return credential_id, issued

    def _add(self, credential_id: str, tenant: str, role: Role, name: str, kind: str,
             digest: str, expires: str | None = None) -> None:
        entries = self._entries()
        entries.append({
            "id": credential_id, "tenant": tenant, "role": role, "name": name, "kind": kind,
            "sha256": digest,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "revoked": None,
            **({"expires": expires} if expires else {}),
        })
        self._save(entries)

    def earliest_certificate_expiry(self) -> float | None:
        """When the first live client certificate expires (Unix time), if any says when."""
        found = [dt.datetime.fromisoformat(str(e["expires"])).timestamp()
                 for e in self.entries() if e.get("expires") and e["revoked"] is None]
        return min(found, default=None)

    def revoke(self, credential_id: str) -> None:
        entries = self._entries()
        for entry in entries:
            if entry["id"] == credential_id and entry["revoked"] is None:
                entry["revoked"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                self._save(entries)
                return
        raise CredentialError(f"no live credential with id {credential_id!r}")

    def revoke_tenant(self, tenant: str) -> list[dict[str, str | None]]:
        """Revoke every live credential of ``tenant`` (not the all-tenant admins); returns them."""
        entries = self._entries()
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        revoked = []
        for entry in entries:
            if entry["tenant"] == tenant and entry["revoked"] is None:
                entry["revoked"] = now
                revoked.append({k: v for k, v in entry.items() if k != "sha256"})
        if revoked:
            self._save(entries)
        return revoked

    def merge_in(self, entries: list[dict[str, str | None]]) -> list[dict[str, str | None]]:
        """Take in the credentials of ``entries`` this store lacks, and their revocations;
        returns every credential, digests included (for the collectors of one cluster, who
        share them: collector/auth/shared.py)."""
        mine = self._entries()
        both = merged(mine, entries)
        if both != mine:
            self._save(both)
        return both

    def entries(self) -> list[dict[str, str | None]]:
        """Every credential without its digest, for display."""
        return [{k: v for k, v in e.items() if k != "sha256"} for e in self._entries()]

    def _save(self, entries: list[dict[str, str | None]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = orjson.dumps({"version": 1, "credentials": entries}, option=orjson.OPT_INDENT_2)
        atomic_write(self.path, data, mode=0o600)


def merged(a: list[dict[str, str | None]], b: list[dict[str, str | None]]) -> list[dict[str, str | None]]:
    """Two lists of credentials as one, losing nothing of either: every credential of both, and a
    credential revoked in either is revoked (at the earlier time): a revocation is never undone.
    In a fixed order, so that two collectors that merged the same lists hold equal ones."""
    by_id: dict[str | None, dict[str, str | None]] = {}
    for entry in [*a, *b]:
        known = by_id.get(entry["id"])
        if known is None:
            by_id[entry["id"]] = dict(entry)
        elif entry.get("revoked") and (known.get("revoked") is None
                                       or str(entry["revoked"]) < str(known["revoked"])):
            known["revoked"] = entry["revoked"]
    return sorted(by_id.values(), key=lambda e: (str(e.get("created") or ""), str(e["id"])))
