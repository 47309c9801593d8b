"""The console's timeline and fleet pages in a real headless Chromium, against a real collector
with three agents' data (support/incident.py: three source zones, db-1's clock 3 s ahead under
libfaketime, all auditing a real chronyd): the scripted incident in clock-corrected order with
each line's error bound as a whisker, a line's context, the skewed host over budget and a
stopped agent silent on the fleet page, an export that verifies offline and on the Evidence page.
Screenshots as in test_console.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from support.admins import PASSWORD
from support.browser import browser_errors, chromium, screenshot, sign_in, wait
from support.console import add_investigator
from support.incident import AHEAD_HOST, AHEAD_SECONDS, Incident
from support.ntp import FAKETIME_LIB
from support.processes import wait_for

HOSTS = ("web-1", "web-2", AHEAD_HOST)


def stamp(host: str) -> str:
    """The time now by ``host``'s clock, as a program on it writes it (db-1's through libfaketime,
    like its agent), in UTC with an offset: the line's own time."""
    if host != AHEAD_HOST:
        return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    env = {**os.environ, "LD_PRELOAD": FAKETIME_LIB, "FAKETIME": f"+{AHEAD_SECONDS:g}"}
    return subprocess.run(["date", "-u", "+%Y-%m-%dT%H:%M:%S.%3N+00:00"], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


def audited_everywhere(incident: Incident) -> bool:
    """Every host's clock stream holds an audit sample (db-1's says +3 s)."""
    records = incident.fleet.records("--stream", "clock")
    return {r["host"] for r in records if r["fields"].get("kind") == "sample"} >= set(HOSTS)


def script(incident: Incident) -> tuple[list[str], float]:
    """Six lines 200 ms apart, round the three hosts; returns them in true order and when it began."""
    wait_for(lambda: audited_everywhere(incident), "a clock sample from every host", timeout=60)
    started = time.time()
    written = []
    for i in range(6):
        host = HOSTS[i % 3]
        text = f"incident {i} on {host}"
        incident.agents[host].write(f"{stamp(host)} {text}")
        written.append(text)
        time.sleep(0.2)
    wait_for(lambda: len(incident.fleet.messages("--grep", "incident")) == 6, "the incident at the collector")
    return written, started


def timeline_address(started: float) -> str:
    wall = dt.datetime.fromtimestamp(started - 5, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    until = dt.datetime.fromtimestamp(started + 10, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    q = urllib.parse.urlencode({"since": wall, "until": until, "zone": "UTC", "grep": "incident",
                                "order": "corrected"})
    return f"/console/timeline?{q}"


def lanes_state(driver: WebDriver) -> dict[str, Any]:
    canvas = driver.find_element(By.ID, "lanes")
    return {k: canvas.get_attribute(f"data-{k}") for k in ("drawn", "aggregated", "hosts")}


def zoom_at(driver: WebDriver, canvas: WebElement, x: float) -> None:
    """One turn of the mouse wheel towards the page, over ``x`` of the canvas: zoom in there."""
    drawn = canvas.get_attribute("data-marks")
    offset = int(x - canvas.size["width"] / 2)
    ActionChains(driver).scroll_from_origin(ScrollOrigin.from_element(canvas, offset, 0), 0, -400).perform()
    wait(driver).until(lambda d: canvas.get_attribute("data-marks") != drawn)


def test_the_timeline_and_the_fleet_of_an_incident(three_hosts: Incident, tmp_path: Path) -> None:
    incident = three_hosts
    fleet = incident.fleet
    written, started = script(incident)
    fleet.login()
    phone = add_investigator(fleet.chronolog, fleet.session_file, "ivan", "city")
    with chromium(tmp_path / "browser") as driver:
        sign_in(driver, fleet.url, "ivan", PASSWORD, phone.code())
        driver.get(fleet.url + timeline_address(started))
        wait(driver, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded"))
        rows = driver.find_elements(By.CSS_SELECTOR, "#lines .line")
        assert [r.find_element(By.CLASS_NAME, "msg").text.split(" ", 1)[1] for r in rows] == written
        assert lanes_state(driver) == {"drawn": "6", "aggregated": "false", "hosts": "db-1,web-1,web-2"}
        for r in rows:  # each line's error bound is shown, and none is undecidable
            assert "ms" in r.find_element(By.CLASS_NAME, "bound").text
            assert "undecidable" not in r.get_attribute("class")
        assert all("clock_over_budget" in r.find_element(By.CLASS_NAME, "flags").text
                   for r in rows if r.find_element(By.CLASS_NAME, "host").text == AHEAD_HOST)
        screenshot(driver, "incident", tmp_path)

        # Zoomed to the incident, each mark has its whisker: the corrected time ± its error bound.
        canvas = driver.find_element(By.ID, "lanes")
        for _ in range(12):
            ActionChains(driver).scroll_to_element(canvas).perform()
            marks = json.loads(canvas.get_attribute("data-marks"))
            xs = [m[1] for m in marks]
            if max(xs) - min(xs) > 600:
                break
            zoom_at(driver, canvas, (min(xs) + max(xs)) / 2)
        marks = json.loads(canvas.get_attribute("data-marks"))
        assert len(marks) == 6 and all(m[3] > 0 for m in marks)

        # A line's mark on the canvas opens its context in its stream and its record.
        _, x, y, _ = next(m for m in marks if m[0] == 5)
        ActionChains(driver).move_to_element_with_offset(canvas, x - canvas.size["width"] / 2,
                                                         y - canvas.size["height"] / 2).click().perform()
        wait(driver).until(lambda d: d.find_element(By.ID, "detail").get_attribute("data-context-lines"))
        own = driver.find_elements(By.CSS_SELECTOR, "#context .ctx.own")
        assert len(own) == 1 and written[5] in own[0].text
        assert driver.find_elements(By.CSS_SELECTOR, "#context .ctx.before")  # db-1 wrote line 2 before it
        assert '"host": "db-1"' in driver.find_element(By.ID, "record").text

        # Closer still, the whisker of a line is seen: its corrected time ± its error bound.
        for _ in range(40):
            _, x, y, whisker = next(m for m in json.loads(canvas.get_attribute("data-marks")) if m[0] == 5)
            if whisker >= 40:
                break
            zoom_at(driver, canvas, x)
        assert whisker >= 40
        screenshot(driver, "whisker", tmp_path)

        # Export: the bundle of `chronolog export` for this query, with each host's clock evidence;
        # it verifies offline and on the Evidence page, which says db-1's clock was over budget.
        driver.find_element(By.ID, "export").click()
        body = driver.find_element(By.TAG_NAME, "body")
        name = wait(driver, 60).until(lambda _: body.get_attribute("data-exported"))
        bundle = wait_for(lambda: next((tmp_path / "browser" / "downloads").glob(name), None), "the download")
        key = tmp_path / "checkpoint.json"
        assert fleet.admin("checkpoint", "--tenant", "city", "-o", str(key)).returncode == 0
        offline = fleet.chronolog("verify-export", str(bundle), "--key", str(key))
        # 3: intact, with a clock record that arrived while the export ran left unproven (the agents
        # go on sending their heartbeats; docs/evidence.md, "Lines not yet sealed").
        assert offline.returncode in (0, 3), offline.stdout + offline.stderr
        assert "6 hits and 0 context lines, complete" in offline.stdout
        assert all(text in bundle.read_text() for text in written)
        driver.get(fleet.url + "/console/verify")
        driver.find_element(By.ID, "bundle").send_keys(str(bundle))
        driver.find_element(By.ID, "check").click()
        verdict = driver.find_element(By.ID, "verdict")
        expected = "intact" if offline.returncode == 0 else "unproven"
        assert wait(driver, 60).until(lambda _: verdict.get_attribute("data-verdict")) == expected
        report = driver.find_element(By.ID, "report").text
        assert report.splitlines()[-1] == offline.stdout.strip().splitlines()[-1]
        clocks = report.split("clocks, while the lines were written:", 1)[1]
        assert all(host in clocks for host in HOSTS), report

        incident.agents["web-2"].daemon.stop()
        wait_for(lambda: incident.host("web-2")["state"] == "silent", "web-2 to go silent")
        driver.get(fleet.url + "/console/fleet")
        wait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#hosts tbody tr"))
        table = driver.find_elements(By.CSS_SELECTOR, "#hosts tbody tr")
        states = {r.get_attribute("data-host"): r for r in table}
        assert states["web-2"].get_attribute("data-state") == "silent"
        claim = states[AHEAD_HOST].find_element(By.CLASS_NAME, "claim").text
        assert claim.startswith("over budget +3.0"), claim
        assert "over budget" in states[AHEAD_HOST].find_element(By.CLASS_NAME, "crosscheck").text
        order = [r.get_attribute("data-host") for r in table]
        assert order.index("db-2") < order.index("web-1")  # worst first: missing before a healthy host
        assert states[AHEAD_HOST].find_elements(By.CSS_SELECTOR, "svg.offset-chart polygon.band")
        screenshot(driver, "fleet", tmp_path)
        assert not browser_errors(driver)
