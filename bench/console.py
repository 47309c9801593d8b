"""Time to first lines on the console's timeline, beside the same query through ``chronolog query``.

    .venv/bin/python bench/console.py [--lines 10000000] [--hosts 50] [--runs 5] [--store DIR]

The day of `bench/store_scan.py` (``--lines`` 256-byte lines from ``--hosts`` hosts, built once
into ``--store DIR`` and reused), served by a real collector process on loopback. A real
headless Chromium (Debian's ``chromium`` and ``chromium-driver``) signs in to the console once;
then, per run, alternating:

- **console**: navigate to the timeline for one hour in the middle of the day (clock-corrected
  order, zone Asia/Tokyo) and read when the first lines were drawn, in ms since the navigation
  began (``performance.now()`` when the first frame with lines is painted);
- **chronolog query**: the same query (``--order corrected --limit 2000``, the console's first
  page) as a process, timed from its start to its first line on stdout and to its end.

Then, with the page holding every line it loads (up to 200,000 of the hour), the time to draw
one frame while zooming (the canvas's own measure), to show it stays responsive.
Medians and the ratio; the machine is shared, so compare within a run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pyotp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import DAY_US, T0
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from store_scan import TENANT, prepare

from chronolog.timefmt import to_rfc3339
from collector.auth.admins import AdminAccounts
from collector.auth.credentials import CredentialStore
from collector.store.keys import FileMasterKeys

BIN = Path(sys.executable).parent
PASSWORD = "bench console password"
ZONE = "Asia/Tokyo"
HOUR_US = 3_600_000_000
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,900")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_collector(root: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = work / "collector.toml"
    config.write_text(f'[collector]\ndata_dir = "{root / "data"}"\n'
                      f'[collector.api]\nlisten = "127.0.0.1:{port}"\n'
                      "[collector.metrics]\nenabled = false\n"
                      f'[collector.keys]\nmaster_key_file = "{root / "master.key"}"\n')
    ready = work / "ready.json"
    log = (work / "collector.log").open("ab")
    proc = subprocess.Popen([BIN / "chronolog-collector", "run", "--config", config, "--ready-file", ready],
                            stdout=log, stderr=log)
    deadline = time.monotonic() + 120
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the collector did not start; see {work / 'collector.log'}")
        time.sleep(0.1)
    return proc, json.loads(ready.read_text())["api"]


def browser(work: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*FLAGS, f"--user-data-dir={work / 'profile'}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def sign_in(driver: webdriver.Chrome, url: str, secret: str) -> None:
    driver.get(url + "/console/signin")
    driver.find_element(By.ID, "user").send_keys("bench")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    code = pyotp.TOTP(secret, digest=hashlib.sha256, interval=30).now()
    driver.find_element(By.ID, "totp").send_keys(code)
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 60).until(lambda d: d.current_url.endswith("/console/"))


def wall(us: int) -> str:
    return to_rfc3339(us, ZONE)[:19]


def console_run(driver: webdriver.Chrome, url: str, since: int, until: int) -> float:
    q = urllib.parse.urlencode({"since": wall(since), "until": wall(until), "zone": ZONE,
                                "order": "corrected"})
    driver.get(f"{url}/console/timeline?{q}")
    found = WebDriverWait(driver, 120, poll_frequency=0.02).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-first-lines"))
    return float(found)


def cli_run(url: str, token: Path, since: int, until: int) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([BIN / "chronolog", "--url", url, "--token-file", token, "query",
                             "--since", to_rfc3339(since, ZONE), "--until", to_rfc3339(until, ZONE),
                             "--zone", ZONE, "--order", "corrected", "--limit", "2000", "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    proc.stdout.readline()
    first = time.perf_counter() - t0
    lines = 1 + sum(1 for _ in proc.stdout)
    proc.wait()
    return first, time.perf_counter() - t0, lines


def frames(driver: webdriver.Chrome, url: str, since: int, until: int) -> tuple[int, float, list[float]]:
    """Load the hour in full (as far as the page goes), then zoom step by step: ms per frame."""
    console_run(driver, url, since, until)
    done = WebDriverWait(driver, 600, poll_frequency=0.2).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded"))
    canvas = driver.find_element(By.ID, "lanes")
    loaded = int(driver.execute_script(  # the list's height is the number of lines times the row's
        "return Number(document.getElementById('spacer').style.height.slice(0, -2)) / 22"))
    times = []
    for i in range(20):
        before = canvas.get_attribute("data-draw-ms"), canvas.get_attribute("data-drawn")

        def drawn(_: object, before: tuple[str | None, str | None] = before) -> bool:
            return (canvas.get_attribute("data-draw-ms"), canvas.get_attribute("data-drawn")) != before

        ActionChains(driver).scroll_from_origin(ScrollOrigin.from_element(canvas, 0, 0), 0,
                                                -300 if i < 10 else 300).perform()
        WebDriverWait(driver, 10, poll_frequency=0.02).until(drawn)
        times.append(float(canvas.get_attribute("data-draw-ms")))
    return loaded, float(done), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--store", type=Path, default=None, help="build the day here once and reuse it")
    args = parser.parse_args()
    root = args.store or Path(tempfile.mkdtemp(prefix="bench-console-"))
    work = Path(tempfile.mkdtemp(prefix="bench-console-run-"))
    proc = None
    try:
        built = prepare(root, args.lines, args.hosts)
        master = FileMasterKeys.load(root / "master.key")
        people = AdminAccounts(root / "data" / "investigators.json", master, "investigator")
        (root / "data" / "investigators.json").unlink(missing_ok=True)
        secret = people.add("bench", TENANT, PASSWORD).base32
        token = work / "bench.token"
        token.write_text(CredentialStore(root / "data" / "credentials.json").issue(TENANT, "investigator",
                                                                                    "bench-cli")[1])
        proc, url = start_collector(root, work)
        print(f"# {args.lines} lines over one day from {args.hosts} hosts"
              + (f" (built in {built:.0f} s)" if built else " (reused)")
              + f"; collector {url}; one hour in the middle of the day, corrected order", flush=True)
        since = T0 + DAY_US // 2
        until = since + HOUR_US
        driver = browser(work)
        try:
            sign_in(driver, url, secret)
            ours, theirs, totals = [], [], []
            for i in range(args.runs):
                first_ms = console_run(driver, url, since, until)
                cfirst, ctotal, clines = cli_run(url, token, since, until)
                ours.append(first_ms)
                theirs.append(cfirst * 1000)
                totals.append(ctotal * 1000)
                print(f"run {i + 1}: console first lines {first_ms:.0f} ms; chronolog query first line "
                      f"{cfirst * 1000:.0f} ms, all {clines} lines {ctotal * 1000:.0f} ms", flush=True)
            loaded, all_ms, draw = frames(driver, url, since, until)
        finally:
            driver.quit()
        a, b, c = (statistics.median(x) for x in (ours, theirs, totals))
        print("\n# medians")
        print(f"time to first lines: console {a:.0f} ms (target: under 1000 ms), chronolog query first line "
              f"{b:.0f} ms (its first 2000 lines: {c:.0f} ms); ratio console / CLI first line {a / b:.2f}x")
        print(f"{loaded} lines loaded in {all_ms / 1000:.1f} s; then one frame while zooming "
              f"{statistics.median(draw):.1f} ms median, {max(draw):.1f} ms worst (of {len(draw)})")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
        if args.store is None:
            shutil.rmtree(root, ignore_errors=True)
        (root / "data" / "investigators.json").unlink(missing_ok=True)


if __name__ == "__main__":
    os.environ.setdefault("SE_AVOID_STATS", "true")
    main()
