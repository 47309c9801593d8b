"""Real NTP servers on loopback for the clock tests: chronyd with its own config, pid file,
drift file and ports, ``-x`` so it never touches the system clock, and a feeder for its SOCK
reference clock that makes it serve time at a known offset."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.processes import free_udp_port, wait_for

SOCK_MAGIC = 0x534F434B  # chrony's refclock_sock.c
NTP_EPOCH = 2208988800
AHEAD = 0.250  # seconds: how far ahead the "ahead" server runs
# libfaketime (Debian package faketime): a process's own wall clock set apart from the machine's.
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


class Chronyd:
    """One chronyd -x process. ``conf`` is added to its own pid file, drift file and port;
    ``{refclock}`` in it is a short path for a SOCK reference clock."""

    def __init__(self, binary: str, workdir: Path, conf: str, port: int | None = None,
                 cmdport: int = 0) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.port = free_udp_port() if port is None else port
        self.cmdport = cmdport
        # Unix socket paths must stay short (108 bytes) and their directory private to chronyd.
        self.sockets = Path(tempfile.mkdtemp(prefix="chronyd-"))
        self.socket = self.sockets / "chronyd.sock"
        self.refclock = self.sockets / "refclock.sock"
        config = workdir / "chrony.conf"
        config.write_text(
            f"{conf.format(refclock=self.refclock)}\nport {self.port}\ncmdport {cmdport}\n"
            f"bindcmdaddress {self.socket}\n"
            + ("bindcmdaddress 127.0.0.1\ncmdallow 127.0.0.1\n" if cmdport else "")
            + f"pidfile {workdir}/chronyd.pid\ndriftfile {workdir}/drift\n"
        )
        self.log = workdir / "chronyd.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([binary, "-x", "-u", "root", "-d", "-f", str(config)],
                                         stdout=log, stderr=log)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.sockets, ignore_errors=True)


def ntp_reply(port: int, host: str = "127.0.0.1") -> bytes | None:
    """One raw SNTP reply from ``host:port``, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        s.sendto(b"\x23" + b"\0" * 39 + b"\1" * 8, (host, port))
        try:
            data = s.recv(512)
        except OSError:
            return None
    return data if len(data) >= 48 else None


def synchronised(port: int, refid: bytes | None = None) -> bool:
    """The server answers with leap indicator other than 3 (and this reference id)."""
    data = ntp_reply(port)
    return data is not None and data[0] >> 6 != 3 and data[1] != 0 and (
        refid is None or data[12:16].rstrip(b"\0") == refid)


class SockFeeder(threading.Thread):
    """Feeds chronyd's SOCK reference clock: "true time = this clock + offset", 5 times a second."""

    def __init__(self, path: Path, offset: float) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.offset = offset
        self.stopped = threading.Event()

    def run(self) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            while not self.stopped.is_set():
                now = time.time()
                seconds = int(now)
                sample = struct.pack("qqdiiii", seconds, int((now - seconds) * 1e6), self.offset,
                                     0, 0, 0, SOCK_MAGIC)
                with contextlib.suppress(OSError):  # chronyd not listening yet
                    s.sendto(sample, str(self.path))
                self.stopped.wait(0.2)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def start_true_server(binary: str, workdir: Path) -> Chronyd:
    """chronyd serving this machine's clock as stratum 1 (``local stratum 1``)."""
    server = Chronyd(binary, workdir, "local stratum 1\nallow 127.0.0.1\nbindaddress 127.0.0.1")
    try:
        wait_for(lambda: synchronised(server.port), "chronyd to answer on loopback", timeout=20)
    except BaseException:
        server.stop()
        raise
    return server


def ntp_bytes(t: float) -> bytes:
    t += NTP_EPOCH
    return struct.pack(">II", int(t), int((t % 1) * 2**32))


def reply_packet(request: bytes, *, offset: float = 0.0, leap: int = 0, mode: int = 4,
                 stratum: int = 1, refid: bytes = b"GPS\0", origin: bytes | None = None,
                 root_dispersion: float = 0.0) -> bytes:
    """A scripted server's reply to ``request`` (for the fakes of the clock tests)."""
    now = time.time() + offset
    first = (leap << 6) | (4 << 3) | mode
    header = struct.pack(">BBbb", first, stratum, 4, -20)
    root = struct.pack(">II", 0, int(root_dispersion * 2**16))
    return (header + root + refid + ntp_bytes(now) + (origin or request[40:48])
            + ntp_bytes(now) + ntp_bytes(now))


class ScriptedServer(asyncio.DatagramProtocol):
    """FAKE NTP server: answers each request as ``reply(request) -> bytes`` says."""

    def __init__(self, reply: Callable[[bytes], bytes | None]) -> None:
        self.reply = reply
        self.requests = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.requests += 1
        answer = self.reply(data)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)
