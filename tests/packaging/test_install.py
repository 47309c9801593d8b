"""docs/install.md, as written, in a real Debian 12 booted with systemd (systemd-nspawn).

The package built from this checkout is installed on a fresh root file system with no network,
and every command of the page runs in order on one machine that plays the collector host, the
agent host and the investigator (`collector.example` points at it: the one stand-in). Then:
both units active and never restarted, a journal line and a /var/log line back from
`chronolog query`, the clock reported plainly, the timesyncd reader working inside the agent's
service, a collector restarted twice while lines are written losing none, and
`systemd-analyze security` on the running units at or below 2.0. The page's other path (a
virtual environment, for other distributions) gets its own boot.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.docs import ROOT, Command, commands
from support.nspawn import Container, booted, cached_rootfs, missing_tools
from support.processes import wait_for

DOC = ROOT / "docs" / "install.md"
UNITS = ("chronolog-agent.service", "chronolog-collector.service")
MAX_EXPOSURE = 2.0
HOSTNAME = "web-1"  # the agent's name in the page
STAND_IN = "echo '127.0.0.1 collector.example' >> /etc/hosts"


@pytest.fixture(scope="module")
def rootfs() -> Path:
    missing = missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (`make test` installs the packages, as root)")
    return cached_rootfs()


def sections(doc: Path) -> tuple[list[Command], list[Command]]:
    """The page's commands: the Debian path, and the virtual-environment path's own part."""
    lines = doc.read_text().splitlines()
    other = next(i for i, line in enumerate(lines, 1) if line.startswith("## Other distributions"))
    every = commands(doc)
    return [c for c in every if c.line < other], [c for c in every if c.line > other]


def follow(container: Container, steps: list[Command], cwd: str,
           seen: dict[str, str] | None = None) -> dict[str, str]:
    """Run each command as written; the outputs of the checks that section 4 reads (in ``seen``)."""
    seen = {} if seen is None else seen
    for step in steps:
        if "chronolog query" in step.text:
            def both_lines(text: str = step.text) -> str | None:
                out = container.run(text, cwd=cwd, check=False)
                seen["last query"] = f"exit {out.returncode}\n{out.stdout}\n{out.stderr}"
                found = out.returncode == 0 and "hello from the journal" in out.stdout \
                    and "a line in a file" in out.stdout
                return out.stdout if found else None

            seen["query"] = wait_for(both_lines, f"{step.where}: both test lines from `{step.text}`",
                                     timeout=30)
        elif "chronolog-agent clock" in step.text:
            out = container.run(step.text, cwd=cwd, check=False)
            assert out.returncode in (0, 1, 2), f"{step.where}: {out.stdout}{out.stderr}"
            seen["clock"], seen["clock_status"] = out.stdout, str(out.returncode)
        else:
            out = container.run(step.text, cwd=cwd)
            if step.text.startswith("chronolog-agent status"):
                seen["status"] = out.stdout
    return seen


def unit_state(container: Container, unit: str) -> dict[str, str]:
    out = container.run(["systemctl", "show", "-p", "ActiveState", "-p", "SubState", "-p", "NRestarts",
                         "-p", "Result", unit]).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def agent_metrics(container: Container) -> str:
    code = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9471/metrics').read().decode())"
    return container.run(["python3", "-c", code]).stdout


def query_ids(container: Container, marker: str) -> tuple[int, int]:
    """How many lines with ``marker`` the collector returns, and how many distinct ones."""
    out = container.run(f"chronolog query --since 10m --grep {marker} --limit 10000 --json", check=False)
    ids = re.findall(rf"{marker} (\d+)", out.stdout)
    return len(ids), len(set(ids))


def journal(container: Container) -> str:
    """What the units said, for a failure's message."""
    return container.run("journalctl -u chronolog-agent -u chronolog-collector --no-pager -n 60 -o cat",
                         check=False).stdout


@pytest.fixture
def debian_host(rootfs: Path, deb: Path, tmp_path: Path) -> Iterator[Container]:
    with booted(rootfs, HOSTNAME, [(deb.parent, "/srv/package")], tmp_path / "boot.log") as container:
        assert container.boot_finished() in ("running", "degraded")
        container.as_on_a_host()
        container.run(STAND_IN)
        container.run(f"hostname {HOSTNAME}")  # nspawn's --hostname loses to the image's /etc/hostname
        container.run("mkdir /root/install && cp /srv/package/*.deb /root/install/")  # copied to the host
        yield container


def test_install_md_as_written_on_debian_12(debian_host: Container) -> None:
    host = debian_host
    debian, _ = sections(DOC)
    install, rest = debian[:1], debian[1:]
    assert install[0].text.startswith("apt-get install ./chronolog_")
    follow(host, install, "/root/install")

    # Before the page's steps, an operator's mistake: starting without key or token. Each unit
    # fails, naming the command that fixes it.
    for unit, fix in (("chronolog-collector", "chronolog-collector keys init"),
                      ("chronolog-agent", "chronolog-collector credentials issue")):
        host.run(["systemctl", "start", unit], check=False)
        wait_for(lambda u=unit: unit_state(host, u)["ActiveState"] in ("failed", "activating"),
                 f"{unit} to fail")
        wait_for(lambda u=unit, f=fix: f in host.run(["journalctl", "-u", u, "--no-pager"]).stdout,
                 f"{unit}'s journal to name `{fix}`")
        host.run(f"systemctl stop {unit}; systemctl reset-failed {unit}", check=False)

    seen: dict[str, str] = {}
    try:
        follow(host, rest, "/root/install", seen)
    except BaseException:
        print(f"--- the last query ---\n{seen.get('last query')}\n"
              f"--- the units' journal ---\n{journal(host)}")
        raise

    for unit in UNITS:
        state = unit_state(host, unit)
        assert (state["ActiveState"], state["SubState"], state["NRestarts"]) == ("active", "running", "0"), \
            state
    assert re.search(rf"\S+ {HOSTNAME} journald: .*hello from the journal", seen["query"])
    assert re.search(rf"\S+ {HOSTNAME} file:/var/log/install-check.log: .*a line in a file", seen["query"])
    # The clock: no NTP server answers here (no network); said plainly, with the daemon's view.
    assert seen["clock_status"] == "2" and "no NTP server answered" in seen["clock"], seen["clock"]
    assert "timesyncd" in seen["clock"]
    # The agent's service reads timesyncd over the system bus (NaN would mean unreadable).
    assert re.search(r'chronolog_agent_clock_daemon_synced\{daemon="timesyncd"\} 0\.0', agent_metrics(host))
    # What root made in the collector's data directory after its start is the service's.
    owners = host.run("stat -c '%U %n' /var/lib/private/chronolog/credentials.json "
                      "/var/lib/private/chronolog/audit.log /var/lib/private/chronolog/keys").stdout
    assert "root" not in owners.split(), owners

    # Two collector restarts while a file grows: every line arrives, once.
    host.run("(for i in $(seq 1 3000); do echo \"restart-check $i\"; "
             "[ $((i % 300)) -eq 0 ] && sleep 0.2; done >> /var/log/restart-check.log) "
             "> /dev/null 2>&1 &")
    for _ in range(2):
        time.sleep(1)
        host.run(["systemctl", "restart", "chronolog-collector.service"])
    wait_for(lambda: query_ids(host, "restart-check")[1] == 3000, "all 3000 lines after two restarts",
             timeout=60)
    assert query_ids(host, "restart-check") == (3000, 3000)  # and none twice

    for unit in UNITS:
        report = host.run(["systemd-analyze", "security", unit]).stdout
        exposure = re.search(r"Overall exposure level for \S+: ([\d.]+)", report)
        assert exposure and float(exposure.group(1)) <= MAX_EXPOSURE, report[-1500:]
        print(f"{unit}: online exposure {exposure.group(1)}")  # figures for the record (pytest -s)
    assert unit_state(host, "chronolog-agent.service")["NRestarts"] == "0"  # no seccomp kill meanwhile

    for unit in UNITS:  # how long a stop takes, nsenter included, for the record (no assertion)
        started = time.monotonic()
        host.run(["systemctl", "stop", unit])
        print(f"{unit}: stopped in {time.monotonic() - started:.2f} s")

    # Removing stops the units and keeps the data and the keys; purging says what it leaves.
    host.run("apt-get remove -y chronolog")
    for unit in UNITS:
        assert unit_state(host, unit)["ActiveState"] == "inactive"
    kept = ("/var/lib/private/chronolog/credentials.json", "/etc/chronolog/collector/master.key",
            "/etc/chronolog/agent/agent.token")
    host.run(" && ".join(f"test -s {path}" for path in kept))
    purged = host.run("apt-get purge -y chronolog").stdout
    for left in ("/var/lib/private/chronolog: the collector's store",
                 "/etc/chronolog/collector: the collector's master key",
                 "/etc/chronolog/agent: the agent's token", "/var/lib/chronolog-agent: the agent's"):
        assert left in purged, purged
    host.run("test -s /etc/chronolog/collector/master.key")


@pytest.fixture(scope="module")
def checkout(rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the page's other path starts from: a copy of the checkout, with `make wheels` done."""
    subprocess.run(["make", "-C", ROOT, "wheels"], check=True, capture_output=True)
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "--cached", "--others", "--exclude-standard"],
                           check=True, capture_output=True, text=True).stdout.split()
    copy = tmp_path_factory.mktemp("checkout")
    for name in files:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    shutil.copytree(ROOT / "dist" / "wheels", copy / "dist" / "wheels")
    return copy


def test_install_md_in_a_virtual_environment(rootfs: Path, checkout: Path, tmp_path: Path) -> None:
    debian, own = sections(DOC)
    with booted(rootfs, HOSTNAME, [(checkout, "/srv/chronolog")], tmp_path / "boot.log") as host:
        assert host.boot_finished() in ("running", "degraded")
        host.as_on_a_host()
        host.run(STAND_IN)
        host.run(f"hostname {HOSTNAME}")
        follow(host, own, "/srv/chronolog")
        assert host.run(["systemctl", "cat", "chronolog-agent.service"]).returncode == 0
        host.run("mkdir /root/install")
        seen = follow(host, debian[1:], "/root/install")  # then sections 2 to 4
        for unit in UNITS:
            assert unit_state(host, unit)["ActiveState"] == "active", unit
        assert "/opt/chronolog/bin/python" in host.run(["systemctl", "status", "chronolog-agent"],
                                                        check=False).stdout
        assert "hello from the journal" in seen["query"]
