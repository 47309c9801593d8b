"""A private network (and mount) namespace for running a time daemon the tests cannot run
otherwise: its own loopback, so it may take port 123 and see no other machine; its own mounts,
so it may put a tmpfs over /run/systemd. Processes in it run without CAP_SYS_TIME, so they can
never set this machine's clock, whatever they try. Needs root (as ``make test`` runs in CI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

NO_CLOCK = ["setpriv", "--bounding-set", "-sys_time", "--inh-caps", "-sys_time"]
UNPACK_ROOT = Path(os.environ.get("UNPACK_ROOT", "/opt/chronolog-tests"))


def unpacked(package: str, path: str) -> Path:
    """A file of a Debian package that tools/system-deps.sh unpacked (not installed, because it
    conflicts with an installed one); skips the test, naming it, when absent."""
    found = UNPACK_ROOT / package / path
    if not found.exists():
        pytest.skip(f"needs {package} unpacked into {UNPACK_ROOT} (it conflicts with chrony, so it is "
                    "never installed; `make test` unpacks it as root)")
    return found


class Namespace:
    """Held open by a sleeping process; `run` and `spawn` enter it with nsenter."""

    def __init__(self, mount: bool = False) -> None:
        if os.geteuid() != 0:
            pytest.skip("needs root to make a private network namespace (make test runs as root in CI)")
        for tool in ("unshare", "nsenter", "setpriv", "ip"):
            if shutil.which(tool) is None:
                pytest.skip(f"needs {tool} (Debian packages util-linux, iproute2)")
        flags = ["--net", *(["--mount"] if mount else [])]
        self.holder = subprocess.Popen(["unshare", *flags, "sh", "-c",
                                        "ip link set lo up && exec sleep 3600"])
        self.mount = mount
        self.children: list[subprocess.Popen[bytes]] = []
        self.run(["ip", "link", "show", "lo"], retries=50)

    def _enter(self) -> list[str]:
        # --root and --wd keep the holder's root and working directory: entering a mount
        # namespace otherwise resets them to the namespace's real root, which is not ours
        # when the tests run in a chroot.
        mount = ["--mount", "--root", "--wd"] if self.mount else []
        return ["nsenter", f"--target={self.holder.pid}", "--net", *mount, "--"]

    def run(self, argv: Sequence[str], retries: int = 0, check: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command inside (and, with ``check``, fail the test if it fails)."""
        for attempt in range(retries + 1):
            result = subprocess.run([*self._enter(), *argv], capture_output=True, text=True, timeout=120,
                                    env=env)
            if result.returncode == 0 or attempt == retries:
                break
            time.sleep(0.1)
        assert result.returncode == 0 or not check, f"{' '.join(argv)}: {result.stderr}"
        return result

    def spawn(self, argv: Sequence[str], log: Path,
              env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a long-running process inside, without CAP_SYS_TIME."""
        with log.open("ab") as out:
            proc = subprocess.Popen([*self._enter(), *NO_CLOCK, *argv], stdout=out, stderr=out,
                                    env={**os.environ, **(env or {})})
        self.children.append(proc)
        return proc

    def close(self) -> None:
        for proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.holder.kill()
        self.holder.wait()
