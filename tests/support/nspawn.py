"""A real Debian 12 systemd, booted with systemd-nspawn, for tests of what runs under it.

The root file system is made once by debootstrap and cached outside the repository, keyed by
what it holds (`ROOTFS_PACKAGES`, the suite, the mirror): built in a temporary directory beside
the cache and renamed into place, so worktrees running at the same time share it safely; it
is never written to afterwards (every boot is ``--volatile=overlay``: changes go to a tmpfs).

What differs from a real host, and is put right after boot (shared/research/systemd-nspawn.md):
nspawn overmounts ``/proc/sys/kernel/random/boot_id`` (a service with ``ProtectProc=`` sees the
kernel's, so ``journalctl --boot`` would find nothing): unmounted, then journald restarted.
timesyncd refuses to run in a container and without CAP_SYS_TIME: a drop-in lets it run, to
answer on the system bus (it can never set the clock: the container has no CAP_SYS_TIME).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["CACHE", "ROOTFS_PACKAGES", "Container", "booted", "cached_rootfs", "missing_tools"]

SUITE = "bookworm"
ROOTFS_PACKAGES = ("systemd", "systemd-sysv", "dbus", "libnss-systemd", "python3", "python3-venv",
                   "systemd-timesyncd")
CACHE = Path(os.environ.get("CHRONOLOG_NSPAWN_CACHE", "/var/cache/chronolog-tests/nspawn"))
RECIPE = 1  # bump when the way the root file system is made changes
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TIMESYNCD_DROP_IN = """\
[Unit]
ConditionVirtualization=
[Service]
CapabilityBoundingSet=
AmbientCapabilities=
"""


def missing_tools() -> list[str]:
    """The Debian packages this needs and lacks (or 'root' when not run as root)."""
    missing = [pkg for tool, pkg in (("systemd-nspawn", "systemd-container"), ("debootstrap", "debootstrap"),
                                     ("nsenter", "util-linux")) if shutil.which(tool) is None]
    return missing + (["root"] if os.geteuid() != 0 else [])


def _mirror() -> str:
    """The Debian mirror apt uses here (deb822 or one-line sources)."""
    for path in [*sorted(Path("/etc/apt/sources.list.d").glob("*.sources")), Path("/etc/apt/sources.list"),
                 *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        with contextlib.suppress(OSError):
            text = path.read_text()
            for uri in re.findall(r"^\s*(?:URIs:|deb)\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M):
                if "security" not in uri:
                    return str(uri)
    return "http://deb.debian.org/debian"


def cached_rootfs() -> Path:
    """The cached root file system, made now if missing (about 100 s once)."""
    mirror = _mirror()
    key = hashlib.sha256(repr((RECIPE, SUITE, ROOTFS_PACKAGES, mirror)).encode()).hexdigest()[:12]
    final = CACHE / f"{SUITE}-{key}"
    if final.is_dir():
        return final
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; the others then find it made
        if final.is_dir():
            return final
        building = CACHE / f".building-{key}-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        try:
            subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(ROOTFS_PACKAGES)}",
                            SUITE, building, mirror], check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as e:
            shutil.rmtree(building, ignore_errors=True)
            raise RuntimeError(f"debootstrap failed: {e.stderr[-2000:]}") from None
        building.rename(final)  # atomic: the cache holds a whole root file system or none
    return final


class Container:
    """One boot of a root file system. ``run`` executes a command inside, as root, with a clean
    environment (the host's variables, pip settings among them, stay out)."""

    def __init__(self, rootfs: Path, hostname: str, binds: Sequence[tuple[Path, str]], log: Path) -> None:
        self.log = log
        cmd = ["systemd-nspawn", "-D", str(rootfs), "-b", "--register=no", "--keep-unit", "--private-network",
               "--volatile=overlay", "--console=passive", f"--hostname={hostname}",
               *(f"--bind-ro={host}:{inside}" for host, inside in binds)]
        with log.open("w") as out:
            self.nspawn = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid1 = self._find_pid1()

    def _find_pid1(self) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise RuntimeError(f"systemd-nspawn exited {self.nspawn.returncode}: "
                                   f"{self.log.read_text()[-2000:]}")
            children = Path(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children").read_text().split()
            for child in children:
                if Path(f"/proc/{child}/comm").read_text().strip() == "systemd":
                    return int(child)
            time.sleep(0.1)
        raise RuntimeError("the container's systemd did not start within 60 s")

    def run(self, command: str | Sequence[str], *, check: bool = True, cwd: str = "/root",
            timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``command``: a shell line (run by ``sh -c`` in ``cwd``) or an argument list."""
        argv = ["sh", "-c", f"cd {cwd} && {command}"] if isinstance(command, str) else list(command)
        variables = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", "USER": "root", **(env or {})}
        result = subprocess.run(["nsenter", "-t", str(self.pid1), "-a", "env", "-i",
                                 *(f"{k}={v}" for k, v in variables.items()), *argv],
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"in the container, {command!r} exited {result.returncode}:\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}{self._journal(command)}")
        return result

    def _journal(self, command: str | Sequence[str]) -> str:
        """After a failed ``systemctl``, what the units said (the error names nothing itself)."""
        if "systemctl" not in (command if isinstance(command, str) else " ".join(command)):
            return ""
        units = "-u chronolog-collector -u chronolog-agent"
        journal = self.run(f"journalctl --no-pager -n 60 {units}", check=False)
        return f"\njournal:\n{journal.stdout[-4000:]}"

    def boot_finished(self) -> str:
        """Wait for the boot to finish; systemd's state then (running, or degraded)."""
        deadline = time.monotonic() + 120
        while True:  # until systemd is there to ask (its private socket, then its state)
            result = self.run(["systemctl", "is-system-running", "--wait"], check=False, timeout=120)
            state = result.stdout.strip()
            if state not in ("", "offline") or time.monotonic() > deadline:
                return state
            time.sleep(0.2)

    def as_on_a_host(self) -> None:
        """Put right what nspawn does differently from a real host (see the module docstring)."""
        self.run("umount /proc/sys/kernel/random/boot_id && systemctl restart systemd-journald")
        drop_in = "/etc/systemd/system/systemd-timesyncd.service.d"
        self.run(f"mkdir -p {drop_in} && printf '{TIMESYNCD_DROP_IN}' > {drop_in}/container.conf "
                 "&& systemctl daemon-reload && systemctl restart systemd-timesyncd")

    def stop(self) -> None:
        if self.nspawn.poll() is None:
            self.nspawn.send_signal(signal.SIGTERM)  # nspawn powers the container off
            try:
                self.nspawn.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.nspawn.pid, signal.SIGKILL)
                self.nspawn.wait()


@contextlib.contextmanager
def booted(rootfs: Path, hostname: str, binds: Sequence[tuple[Path, str]], log: Path) -> Iterator[Container]:
    container = Container(rootfs, hostname, binds, log)
    try:
        yield container
    finally:
        container.stop()
