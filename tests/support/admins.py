"""Administrators in tests: an authenticator that computes TOTP codes from the enrolled secret
(as a phone app would), and the enrolment through the real ``chronolog-collector admins add``."""

from __future__ import annotations

import hashlib
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pyotp

from support.processes import BIN

STEP = 30
PASSWORD = "correct horse battery staple"


@dataclass
class Clock:
    """A clock the test sets, for the login decision (``LoginGate(accounts, clock)``)."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Authenticator:
    """Codes for one secret, never the same time step twice (the collector accepts each code
    once). It uses the current step, then the next one (which the collector tolerates as
    clock skew), and waits for a new step only when both are used. The previous step is never
    used: the step could turn between making the code and the collector checking it."""

    secret_b32: str
    used: int = -1  # the newest time step a code was made for

    def code_at(self, step: int) -> str:
        return str(pyotp.TOTP(self.secret_b32, digest=hashlib.sha256, interval=STEP).at(step * STEP))

    def code(self) -> str:
        while True:
            now = int(time.time() // STEP)
            step = max(self.used + 1, now)
            if step <= now + 1:
                self.used = step
                return self.code_at(step)
            time.sleep(0.5)


def enrol(config: Path, name: str, scope: str = "*", password: str = PASSWORD) -> Authenticator:
    """``chronolog-collector admins add NAME --scope SCOPE --password-stdin``: the secret it printed."""
    result = subprocess.run([BIN / "chronolog-collector", "admins", "-c", config, "add", name,
                             "--scope", scope, "--password-stdin"],
                            input=password + "\n", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    uri, secret_line = result.stdout.splitlines()
    assert uri.startswith(f"otpauth://totp/chronolog:{name}?") and "algorithm=SHA256" in uri
    return Authenticator(secret_line.split(": ", 1)[1])
