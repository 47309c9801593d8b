"""Administrators with two factors, through the real commands over real (mutual) TLS: the login
(password and TOTP) and its session file, and the admin certificate plus admin token; one
factor alone, or two factors of different administrators, are refused."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from support.admins import PASSWORD
from support.fleet import Fleet
from support.processes import Daemon


@pytest.fixture
def fleet(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> Fleet:
    return Fleet(tmp_path, daemons, tls=True)


def raw_get(fleet: Fleet, path: str, cert_dir: Path | None = None,
            token: Path | None = None) -> tuple[int, str]:
    """One request with Python's plain ssl (no chronolog code on the client side)."""
    context = ssl.create_default_context(cafile=fleet.ca.cert_file)
    if cert_dir is not None:
        name = cert_dir.name.removeprefix("cert-")
        context.load_cert_chain(cert_dir / f"{name}.crt", cert_dir / f"{name}.key")
    headers = {"Authorization": f"Bearer {token.read_text().strip()}"} if token else {}
    request = urllib.request.Request(fleet.url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_a_login_keeps_a_private_session_that_logout_ends(fleet: Fleet) -> None:
    fleet.login()
    assert oct(fleet.session_file.stat().st_mode & 0o777) == "0o600"
    kept = json.loads(fleet.session_file.read_text())
    assert kept["user"] == "root" and kept["url"] == fleet.url and kept["session"].startswith("clgs_")
    listed = fleet.admin("tenant", "list")
    assert listed.returncode == 0, listed.stderr
    out = fleet.chronolog("--session-file", fleet.session_file, "admin", "logout")
    assert out.returncode == 0 and not fleet.session_file.exists()
    again = fleet.chronolog("--session-file", fleet.session_file, "admin", "tenant", "list")
    assert again.returncode == 2 and "not logged in" in again.stderr
    # The session itself ended at the collector, not only the file.
    status, body = raw_get(fleet, "/v1/admin/tenants", token=_write(fleet, kept["session"]))
    assert status == 401 and "log in again" in body


def test_a_wrong_code_is_refused_and_says_nothing_of_which_factor(fleet: Fleet) -> None:
    fleet.login()  # enrols root
    assert fleet.authenticator is not None
    wrong = fleet.chronolog("--session-file", fleet.root / "s2", "admin", "login", "--user", "root",
                            "--password-stdin", "--totp", "000000", stdin=PASSWORD + "\n")
    unknown = fleet.chronolog("--session-file", fleet.root / "s2", "admin", "login", "--user", "nobody",
                              "--password-stdin", "--totp", "123456", stdin=PASSWORD + "\n")
    assert wrong.returncode == unknown.returncode == 1
    assert wrong.stderr == unknown.stderr and "wrong user name, password or code" in wrong.stderr
    assert not (fleet.root / "s2").exists()


def test_an_admin_certificate_with_the_same_admins_token_administers(fleet: Fleet) -> None:
    cert = fleet.issue_certificate("alice", tenant="*", role="admin")
    token = fleet.issue_token("alice", tenant="*", role="admin")
    both = fleet.chronolog("--session-file", fleet.root / "none", "--client-cert", cert / "alice.crt",
                           "--client-key", cert / "alice.key", "--token-file", token,
                           "admin", "tenant", "list")
    assert both.returncode == 0, both.stderr


def test_one_factor_alone_or_factors_of_two_admins_are_refused(fleet: Fleet) -> None:
    cert = fleet.issue_certificate("alice", tenant="*", role="admin")
    alice = fleet.issue_token("alice", tenant="*", role="admin")
    bob = fleet.issue_token("bob", tenant="*", role="admin")
    status, body = raw_get(fleet, "/v1/admin/tenants", token=alice)
    assert status == 401 and "two factors" in body
    lone = fleet.chronolog("--session-file", fleet.root / "none", "--token-file", alice,
                           "admin", "tenant", "list")
    assert lone.returncode == 1 and "two factors" in lone.stderr and "chronolog admin login" in lone.stderr
    status, body = raw_get(fleet, "/v1/admin/tenants", cert_dir=cert)
    assert status == 401 and "two factors" in body
    status, body = raw_get(fleet, "/v1/admin/tenants", cert_dir=cert, token=bob)
    assert status == 401 and "different administrators" in body
    agent = fleet.issue_certificate("web-1")
    status, body = raw_get(fleet, "/v1/admin/tenants", cert_dir=agent, token=alice)
    assert status == 403


def _write(fleet: Fleet, token: str) -> Path:
    path = fleet.root / "raw.token"
    path.write_text(token)
    return path
