"""The kernel reader: adjtimex(2) with modes 0, unprivileged, checked against ntpsec's
``ntptime``, which reads the same kernel state through its own code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from support.netns import unpacked

from agent.clock.readers.adjtimex import kernel_view, read_kernel


def test_raw_fields_become_seconds_ppm_and_flag_names() -> None:
    view = kernel_view(rc=5, status=0x2041, maxerror_us=16_000_000, esterror_us=1500, offset=-250_000,
                       freq=-655360, tolerance=500 << 16, tick=10000, tai=37)
    assert (view.state, view.synced) == ("error", False)
    assert view.status == ("PLL", "UNSYNC", "NANO")
    assert (view.maxerror, view.esterror) == (16.0, 0.0015)
    assert view.offset == pytest.approx(-0.00025)  # nanoseconds, because of STA_NANO
    assert (view.freq_ppm, view.tolerance_ppm, view.tai) == (-10.0, 500.0, 37)
    assert kernel_view(0, 0x1, 0, 0, -250, 0, 0, 10000, 0).offset == pytest.approx(-0.00025)  # microseconds


def test_reading_the_kernel_needs_no_privilege_and_agrees_with_ntptime() -> None:
    ntptime = unpacked("ntpsec", "usr/sbin/ntptime")
    if os.geteuid() != 0:
        pytest.skip("needs root to drop every capability for the comparison")
    # The privilege adjtimex(2) could need is a capability (CAP_SYS_TIME), not a user id: keep
    # the uid, so the checkout stays readable wherever it is, and drop every capability.
    nobody = ["setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    code = ("import dataclasses, json\nfrom agent.clock.readers.adjtimex import read_kernel\n"
            "print(json.dumps(dataclasses.asdict(read_kernel())))")
    ours = json.loads(subprocess.run([*nobody, sys.executable, "-c", code], capture_output=True, text=True,
                                     check=True, timeout=30).stdout)
    theirs = subprocess.run([str(ntptime)], capture_output=True, text=True, timeout=30).stdout
    rc = int(re.search(r"ntp_adjtime\(\) returns code (\d+)", theirs).group(1))  # type: ignore[union-attr]
    status = int(re.search(r"status (0x[0-9a-f]+)", theirs).group(1), 16)  # type: ignore[union-attr]
    maxerror = int(re.search(r"maximum error (\d+) us", theirs).group(1)) / 1e6  # type: ignore[union-attr]
    tolerance = float(re.search(r"tolerance ([\d.]+) ppm", theirs).group(1))  # type: ignore[union-attr]
    assert ours["synced"] == (rc != 5)
    assert ours["status"] == list(kernel_view(rc, status, 0, 0, 0, 0, 0, 0, 0).status)
    assert ours["maxerror"] == pytest.approx(maxerror, abs=0.01)  # grows 500 us a second
    assert ours["tolerance_ppm"] == tolerance
    assert read_kernel().synced == ours["synced"]
