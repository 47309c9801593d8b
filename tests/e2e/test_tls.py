"""The TLS policy, probed with the real `openssl s_client` against a real collector (#13).

Each refusal has a control: the same client probe against a permissive `openssl s_server`
with the same certificate succeeds, so the refusal is the collector's doing, not the
client's. The client runs with ``OPENSSL_CONF=/dev/null`` so Debian's own client policy
(which already refuses TLS 1.0) cannot hide anything.
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.pki import make_ca, rsa_server_cert, server_cert, server_cert_with
from support.processes import BIN, Daemon, free_port, wait_for
from support.stores import master_key_config

from collector.auth.ca import CertificateAuthority

LEGACY = ["-cipher", "DEFAULT:@SECLEVEL=0"]


@dataclass
class Pki:
    root: Path
    ca_file: Path
    cert: Path
    key: Path
    rsa_cert: Path
    rsa_key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl (Debian package openssl; `make test` installs it as root)")
    root = tmp_path_factory.mktemp("pki")
    ca = make_ca(root / "ca")
    cert, key = server_cert(ca, root)
    rsa_cert, rsa_key = rsa_server_cert(ca, root)
    return Pki(root, ca.cert_file, cert, key, rsa_cert, rsa_key)


def collector_config(directory: Path, pki: Pki, level: str, port: int, *, rsa: bool = False,
                     extra: str = "") -> Path:
    cert, key = (pki.rsa_cert, pki.rsa_key) if rsa else (pki.cert, pki.key)
    config = directory / f"collector-{level}-{port}.toml"
    config.write_text(
        f'[collector]\ndata_dir = "{directory / "store"}"\n'
        f'[collector.api]\nlisten = "127.0.0.1:{port}"\n'
        "[collector.metrics]\nenabled = false\n[collector.fleet.clock]\nservers = []\n"
        f"{master_key_config(directory)}"
        f'[collector.tls]\ncert_file = "{cert}"\nkey_file = "{key}"\n'
        f'client_ca_file = "{pki.ca_file}"\nlevel = "{level}"\n{extra}'
    )
    return config


@pytest.fixture(scope="module")
def servers(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """Collectors at level high, strict-aes, and high with an RSA certificate."""
    root = tmp_path_factory.mktemp("collectors")
    started, ports = [], {}
    for name, level, rsa in (("high", "high", False), ("strict-aes", "strict-aes", False),
                             ("rsa", "high", True)):
        port = free_port()
        workdir = root / name
        workdir.mkdir()
        daemon = Daemon("chronolog-collector",
                        collector_config(workdir, pki, level, port, rsa=rsa), workdir)
        started.append(daemon.start())
        ports[name] = port
    yield ports
    for daemon in started:
        daemon.kill()


def s_client(port: int, pki: Pki, *args: str) -> tuple[str | None, str | None]:
    """Negotiated (cipher, server temp key) of one handshake, or (None, None)."""
    result = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
         "-CAfile", str(pki.ca_file), *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
        env={"OPENSSL_CONF": "/dev/null", "PATH": "/usr/bin:/bin"},
    )
    cipher = re.search(r"^New, \S+, Cipher is (\S+)", result.stdout, re.M)
    group = re.search(r"^(?:Server|Peer) Temp Key: (.+)$", result.stdout, re.M)
    negotiated = cipher.group(1) if cipher and cipher.group(1) != "(NONE)" else None
    return negotiated, group.group(1) if group and negotiated else None


def control(pki: Pki, server_args: list[str], client_args: list[str], *, rsa: bool = False) -> str | None:
    """The same probe against a permissive openssl s_server with the same certificate."""
    cert, key = (pki.rsa_cert, pki.rsa_key) if rsa else (pki.cert, pki.key)
    port = free_port()
    server = subprocess.Popen(
        ["openssl", "s_server", "-accept", str(port), "-cert", str(cert), "-key", str(key), "-www",
         *server_args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={"OPENSSL_CONF": "/dev/null", "PATH": "/usr/bin:/bin"},
    )
    try:
        wait_for(lambda: _listening(port), "openssl s_server to listen")
        return s_client(port, pki, *client_args)[0]
    finally:
        server.kill()
        server.wait()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


REFUSED = [
    # (server, client probe, control server arguments)
    ("high", ["-tls1", *LEGACY], ["-tls1", *LEGACY]),
    ("high", ["-tls1_1", *LEGACY], ["-tls1_1", *LEGACY]),
    ("high", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"], []),  # CBC
    ("high", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA"], []),  # CBC, SHA-1
    ("rsa", ["-tls1_2", "-cipher", "AES256-GCM-SHA384"], []),  # static RSA key exchange
    ("rsa", ["-tls1_2", "-cipher", "DHE-RSA-AES256-GCM-SHA384"], []),  # DHE
    ("strict-aes", ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"], []),
    ("strict-aes", ["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"], []),
    ("high", ["-groups", "X25519"], ["-groups", "X25519"]),
    ("high", ["-groups", "P-521"], ["-groups", "P-521"]),
    ("high", ["-groups", "ffdhe2048"], ["-groups", "ffdhe2048"]),
]


@pytest.mark.parametrize("server, probe, control_args", REFUSED,
                         ids=[" ".join(p) for _, p, _ in REFUSED])
def test_what_the_policy_forbids_is_refused(servers: dict[str, int], pki: Pki, server: str,
                                            probe: list[str], control_args: list[str]) -> None:
    assert control(pki, control_args, probe, rsa=server == "rsa") is not None, "control failed"
    assert s_client(servers[server], pki, *probe) == (None, None)


@pytest.mark.parametrize("level, suites", [
    ("high", ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"]),
    ("strict-aes", ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"]),
])
def test_listed_tls13_suites_connect(servers: dict[str, int], pki: Pki, level: str,
                                     suites: list[str]) -> None:
    for suite in suites:
        assert s_client(servers[level], pki, "-tls1_3", "-ciphersuites", suite)[0] == suite


@pytest.mark.parametrize("suite", ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256",
                                   "ECDHE-ECDSA-CHACHA20-POLY1305"])
def test_listed_tls12_suites_connect(servers: dict[str, int], pki: Pki, suite: str) -> None:
    assert s_client(servers["high"], pki, "-tls1_2", "-cipher", suite)[0] == suite


def test_rsa_certificate_uses_ecdhe_rsa(servers: dict[str, int], pki: Pki) -> None:
    assert s_client(servers["rsa"], pki, "-tls1_2")[0] == "ECDHE-RSA-AES256-GCM-SHA384"


@pytest.mark.parametrize("group, shown", [("P-256", "ECDH, prime256v1"), ("P-384", "ECDH, secp384r1")])
def test_listed_groups_connect(servers: dict[str, int], pki: Pki, group: str, shown: str) -> None:
    cipher, temp_key = s_client(servers["high"], pki, "-groups", group)
    assert cipher is not None and temp_key is not None and temp_key.startswith(shown)


def test_server_preference_picks_aes_first_even_when_the_client_prefers_chacha(
        servers: dict[str, int], pki: Pki) -> None:
    order = "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"
    assert s_client(servers["high"], pki, "-tls1_3", "-ciphersuites", order)[0] == "TLS_AES_256_GCM_SHA384"


@pytest.mark.parametrize("conf_text", [
    # A profile that lets ChaCha20 back in under strict-aes.
    "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = s\n[s]\n"
    "Ciphersuites = TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256\n",
    # A file that configures nothing: OpenSSL silently keeps its defaults.
    "# empty\n",
])
def test_a_misplaced_openssl_configuration_stops_the_collector(
        pki: Pki, tmp_path: Path, conf_text: str) -> None:
    conf = tmp_path / "wrong.cnf"
    conf.write_text(conf_text)
    config = collector_config(tmp_path, pki, "strict-aes", free_port(), extra=f'openssl_conf = "{conf}"\n')
    result = subprocess.run([BIN / "chronolog-collector", "run", "--config", config],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "TLS policy 'strict-aes' is not in force" in result.stderr
    assert "TLS_CHACHA20_POLY1305_SHA256" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_public_listen_address_is_allowed_only_with_tls(pki: Pki, tmp_path: Path) -> None:
    plain = tmp_path / "plain.toml"
    plain.write_text('[collector.api]\nlisten = "0.0.0.0:8470"\n')
    tls = collector_config(tmp_path, pki, "high", 8470)
    tls.write_text(tls.read_text().replace("127.0.0.1:8470", "0.0.0.0:8470"))

    def check(config: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BIN / "chronolog-collector", "check-config", config],
                              capture_output=True, text=True)

    assert check(plain).returncode == 2 and "loopback" in check(plain).stderr
    assert check(tls).returncode == 0


# ---- the certificate profile and session tickets (issue 16) -----------------------------------

def _certificate(pki: Pki, directory: Path, key: Any, days: int) -> tuple[Path, Path]:
    """A server certificate from the test CA with ``key``, valid ``days``."""
    return server_cert_with(CertificateAuthority(pki.ca_file.parent), directory, key, days)


def _rsa(bits: int) -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _ec(curve: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key({"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(),
                                    "P-521": ec.SECP521R1()}[curve])


@pytest.mark.parametrize("make_key, days, message", [
    (lambda: _rsa(2048), 365, "its key is RSA-2048; expected at least RSA-3072"),
    (lambda: _ec("P-521"), 365, "its key is on curve secp521r1; expected P-256 or P-384"),
    (lambda: _ec("P-256"), 3650, "it is valid for 3650 days; expected one year at most"),
], ids=["RSA-2048", "P-521", "10 years"])
def test_a_certificate_outside_the_profile_stops_the_collector_naming_why(
        pki: Pki, tmp_path: Path, make_key: Any, days: int, message: str) -> None:
    cert, key = _certificate(pki, tmp_path / "bad", make_key(), days)
    config = collector_config(tmp_path, pki, "high", free_port())
    config.write_text(config.read_text().replace(str(pki.cert), str(cert)).replace(str(pki.key), str(key)))
    for command in ("check-config", "run"):
        args = [command, str(config)] if command == "check-config" else ["run", "--config", str(config)]
        result = subprocess.run([BIN / "chronolog-collector", *args], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 2, result.stderr
        assert "collector.tls" in result.stderr and message in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("curve", ["P-256", "P-384"])
def test_certificates_inside_the_profile_are_accepted(pki: Pki, tmp_path: Path, curve: str) -> None:
    from chronolog.tls import certificate_problems
    cert, _ = _certificate(pki, tmp_path / curve, _ec(curve), 365)
    assert certificate_problems(cert.read_bytes()) == []
    rsa_cert, _ = _certificate(pki, tmp_path / "rsa", _rsa(3072), 30)
    assert certificate_problems(rsa_cert.read_bytes()) == []


def _resumed(port: int, pki: Pki, version: ssl.TLSVersion) -> tuple[bool, bool]:
    """(a ticket was issued, a second connection resumed the first's session), from Python's
    own TLS client after a whole request (a TLS 1.3 ticket comes after the handshake)."""
    context = ssl.create_default_context(cafile=pki.ca_file)
    context.minimum_version = context.maximum_version = version

    def connect(session: ssl.SSLSession | None) -> ssl.SSLSocket:
        sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                                   server_hostname="localhost", session=session)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        while sock.recv(65536):
            pass
        return sock

    with connect(None) as first:
        session = first.session
    assert session is not None
    with connect(session) as second:
        return session.has_ticket, second.session_reused


def test_session_tickets_are_off_unless_asked_for(servers: dict[str, int], pki: Pki, tmp_path: Path) -> None:
    port = free_port()
    workdir = tmp_path / "tickets"
    workdir.mkdir()
    with_tickets = Daemon("chronolog-collector", collector_config(workdir, pki, "high", port,
                                                                 extra="session_tickets = true\n"), workdir)
    with_tickets.start()
    try:
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            assert _resumed(port, pki, version) == (True, True)  # the control: tickets work
        assert _resumed(servers["high"], pki, ssl.TLSVersion.TLSv1_3) == (False, False)
        # TLS 1.2 still resumes by session id from the server's cache, for its 300 s: no ticket.
        assert _resumed(servers["high"], pki, ssl.TLSVersion.TLSv1_2)[0] is False
    finally:
        with_tickets.kill()
