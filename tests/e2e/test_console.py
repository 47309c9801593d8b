"""The investigator's console against a real collector over TLS (CRYPTREC policy), in a real
headless Chromium for what a person does, and over raw HTTPS for what an attacker tries.

Screenshots go to ``$CHRONOLOG_SCREENSHOTS`` when set (docs/console.md's pictures are made so),
else into the test's directory; each is checked for the elements it must show, not pixels.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from support.admins import PASSWORD, Authenticator
from support.browser import browser_errors, chromium, screenshot, sign_in, wait
from support.console import ConsoleClient, add_investigator
from support.fleet import AgentHandle, Fleet
from support.processes import BIN, daemon_factory, wait_for

from collector.console.pages import PAGES

CONSOLE_SESSION = "__Host-chronolog-session"
PAGE = 1000  # collector.query.max_results here
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Site:
    fleet: Fleet
    ivan: Authenticator  # investigator of city
    workdir: Path
    agent: AgentHandle

    def client(self) -> ConsoleClient:
        return ConsoleClient(self.fleet.url, self.fleet.ca.cert_file)

    def investigator(self, name: str) -> Authenticator:
        """A new investigator account of city (each test its own: every code is accepted once,
        so one account would make the tests wait for new time steps)."""
        return add_investigator(self.fleet.chronolog, self.fleet.session_file, name, "city")

    @contextmanager
    def browser(self, name: str) -> Iterator[WebDriver]:
        """A browser (its downloads in ``workdir/browser-NAME/downloads``) signed in as a new
        investigator ``name``."""
        phone = self.investigator(name)
        with chromium(self.workdir / f"browser-{name}", trust=self.fleet.root / "server.crt") as driver:
            sign_in(driver, self.fleet.url, name, PASSWORD, phone.code())
            yield driver

    def timeline(self, driver: WebDriver, **query: str) -> None:
        """Open the timeline of ``query`` and wait until all its lines are loaded."""
        driver.get(f"{self.fleet.url}/console/timeline?{urllib.parse.urlencode(query)}")
        wait(driver, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded"))

    def signed_in(self, name: str) -> ConsoleClient:
        phone = self.investigator(name)
        client = self.client()
        assert client.signin(name, phone.code()).status == 200
        return client

    def audit(self, action: str) -> list[dict[str, object]]:
        lines = (self.fleet.root / "store" / "audit.log").read_text().splitlines()
        return [e for e in map(json.loads, lines) if e["action"] == action]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("console")
    with daemon_factory() as make:
        # The collector's pages are small here, so the console must page with the cursor.
        fleet = Fleet(root, make, tls=True, max_results=PAGE)
        agent = fleet.agent("web-1")
        agent.write("2026-11-27T09:00:00.000+09:00 web-1 console test line")
        wait_for(lambda: fleet.streams(), "the agent's first line")
        fleet.login()
        ivan = add_investigator(fleet.chronolog, fleet.session_file, "ivan", "city")
        yield Site(fleet, ivan, root, agent)


# ---- in the browser ---------------------------------------------------------------------------


def test_sign_in_with_password_and_totp_shows_the_tenants_streams(site: Site) -> None:
    with chromium(site.workdir / "browser-signin", trust=site.fleet.root / "server.crt") as driver:
        driver.get(site.fleet.url + "/console/signin")
        wait(driver).until(lambda d: d.find_element(By.ID, "signin").is_displayed())
        screenshot(driver, "signin", site.workdir)
        driver.find_element(By.ID, "user").send_keys("ivan")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "totp").send_keys("000000")
        driver.find_element(By.ID, "submit").click()
        try:
            error = wait(driver, 10).until(lambda d: d.find_element(By.ID, "error").text)
        except Exception:
            raise AssertionError(browser_errors(driver)) from None
        assert "wrong user name, password or code" in error
        assert driver.current_url.endswith("/console/signin")
        [refused] = browser_errors(driver)  # the browser logs the 401 it was given, and nothing else
        assert "/console/signin" in refused and "401" in refused

        sign_in(driver, site.fleet.url, "ivan", PASSWORD, site.ivan.code())
        rows = wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#streams tbody tr"))
        assert "app.log" in rows[0].text
        assert driver.find_element(By.ID, "who").text == "ivan"
        assert driver.get_cookie(CONSOLE_SESSION) is not None
        assert driver.get_cookie(CONSOLE_SESSION)["httpOnly"] is True
        assert driver.execute_script("return document.cookie") == ""  # no script sees the session
        screenshot(driver, "streams", site.workdir)

        driver.find_element(By.LINK_TEXT, "Fleet").click()  # GET /v1/hosts and the clock stream's pages
        rows = wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#hosts tbody tr"))
        assert [(r.get_attribute("data-host"), r.get_attribute("data-state")) for r in rows] == [
            ("web-1", "reporting")]
        wait(driver).until(lambda d: d.find_element(By.ID, "status").text.startswith("1 hosts as of"))

        driver.find_element(By.ID, "signout").click()
        wait(driver).until(lambda d: d.current_url.endswith("/console/signin"))
        driver.get(site.fleet.url + "/console/")
        assert driver.current_url.endswith("/console/signin")  # the session ended
        assert not browser_errors(driver)  # no script error, no policy violation, nothing failed to load


def test_the_timeline_shows_the_lines_their_time_source_and_a_lines_context(site: Site) -> None:
    # Stamped a while ago, so the read time of the last line (when the agent reads it) is after them all.
    now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    agent = site.agent
    agent.write(*(f"{(now + dt.timedelta(milliseconds=10 * i)).isoformat(timespec='milliseconds')} step {i}"
                  for i in range(5)))
    agent.write("a line with no time in it, step 5")  # stamped with its read time
    wait_for(lambda: len(site.fleet.messages("--grep", "step")) == 6, "the lines at the collector")
    since = (now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
    with site.browser("tina") as driver:
        site.timeline(driver, since=since, zone="UTC", grep="step")
        rows = driver.find_elements(By.CSS_SELECTOR, "#lines .line")
        steps = [r.find_element(By.CLASS_NAME, "msg").text.rsplit(" ", 1)[-1] for r in rows]
        assert steps == [str(i) for i in range(6)]
        sources = [r.find_element(By.CLASS_NAME, "src").get_attribute("class") for r in rows]
        assert sources == ["src explicit"] * 5 + ["src read_time"]  # the read time in its own style
        assert "read_time" in rows[5].find_element(By.CLASS_NAME, "flags").text
        canvas = driver.find_element(By.ID, "lanes")
        assert canvas.get_attribute("data-hosts") == "web-1" and canvas.get_attribute("data-drawn") == "6"
        assert driver.find_element(By.ID, "zone").get_attribute("value") == "UTC"
        rows[2].click()
        wait(driver).until(lambda d: d.find_element(By.ID, "detail").get_attribute("data-context-lines"))
        context = driver.find_elements(By.CSS_SELECTOR, "#context .ctx")
        kinds = [c.get_attribute("class").split()[1] for c in context]
        own = [c.text for c in context if "own" in c.get_attribute("class")]
        assert "before" in kinds and "after" in kinds and len(own) == 1 and "step 2" in own[0]
        assert '"ts_source": "explicit"' in driver.find_element(By.ID, "record").text
        screenshot(driver, "timeline", site.workdir)
        assert not browser_errors(driver)
    view = site.audit("console.view")[-1]
    assert view["name"] == "tina" and view["details"]["page"] == "timeline"
    assert view["details"]["params"]["grep"] == ["step"]
    queries = [e for e in site.audit("query") if e["name"] == "tina"]
    assert {e["outcome"] for e in queries} >= {"started", "done"}  # each API read of the page too


def test_a_long_range_loads_page_by_page_with_the_cursor(site: Site) -> None:
    now = dt.datetime.now(dt.UTC)
    lines = 2 * PAGE + 500
    site.agent.write(*(f"{(now + dt.timedelta(microseconds=i)).isoformat()} paged {i}" for i in range(lines)))
    wait_for(lambda: len(site.fleet.messages("--grep", "paged")) == lines, "the lines at the collector")
    since = (now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
    with site.browser("pat") as driver:
        site.timeline(driver, since=since, zone="UTC", grep="paged")
        assert driver.find_element(By.ID, "status").text.startswith(f"{lines:,} lines from 1 hosts")
        rows = driver.execute_script("return document.getElementById('spacer').style.height")
        assert rows == f"{lines * 22}px"  # the list holds every line (22 px a row)
        assert not browser_errors(driver)
    queries = [e for e in site.audit("query") if e["name"] == "pat" and e["outcome"] == "done"]
    assert len(queries) == 3  # a page of PAGE, then two more from the cursor


def test_an_export_downloads_and_verifies_offline_and_on_the_evidence_page(site: Site) -> None:
    now = dt.datetime.now(dt.UTC)
    stamps = [(now + dt.timedelta(milliseconds=i)).isoformat(timespec="milliseconds") for i in range(4)]
    site.agent.write(*(f"{stamp} evidence {i}" for i, stamp in enumerate(stamps)))
    wait_for(lambda: len(site.fleet.messages("--grep", "evidence")) == 4, "the lines at the collector")
    since = (now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
    key = site.workdir / "checkpoint.json"
    workdir = site.workdir / "browser-eve"
    with site.browser("eve") as driver:
        site.timeline(driver, since=since, zone="UTC", grep="evidence")
        assert driver.find_element(By.ID, "export").is_enabled()
        driver.find_element(By.ID, "export").click()
        body = driver.find_element(By.TAG_NAME, "body")
        name = wait(driver, 60).until(lambda _: body.get_attribute("data-exported"))
        bundle = wait_for(lambda: next((workdir / "downloads").glob(name), None), "the download")
        assert site.fleet.admin("checkpoint", "--tenant", "city", "-o", str(key)).returncode == 0
        offline = site.fleet.chronolog("verify-export", str(bundle), "--key", str(key))
        # 3: intact, with a clock record that arrived while the export ran left unproven
        # (docs/evidence.md, "Lines not yet sealed"); the page must say the same.
        assert offline.returncode in (0, 3), offline.stdout + offline.stderr
        intact = "intact" if offline.returncode == 0 else "unproven"
        text = bundle.read_text()
        assert all(f"evidence {i}" in text for i in range(4))
        tampered = site.workdir / "tampered.evidence"
        tampered.write_text(text.replace("evidence 2", "evidence 7"))
        for path, verdict in ((bundle, intact), (tampered, "findings")):
            driver.get(site.fleet.url + "/console/verify")
            driver.find_element(By.ID, "bundle").send_keys(str(path))
            driver.find_element(By.ID, "check").click()
            shown = wait(driver, 60).until(lambda d: d.find_element(By.ID, "verdict").get_attribute(
                "data-verdict"))
            assert shown == verdict
            report = driver.find_element(By.ID, "report").text
            if verdict == intact:
                # The command's own report: the same last line ("intact...").
                assert report.splitlines()[-1] == offline.stdout.strip().splitlines()[-1]
                screenshot(driver, "verify", site.workdir)
            else:
                assert "changed" in report
        assert not browser_errors(driver)
    [export] = [e for e in site.audit("export") if e["name"] == "eve"]
    assert export["details"]["lines"] == 4
    checks = [e["details"]["verdict"] for e in site.audit("console.verify") if e["name"] == "eve"]
    assert checks == [intact, "findings"]


# ---- over raw HTTPS ---------------------------------------------------------------------------


def test_no_session_without_both_factors(site: Site) -> None:
    phone = site.investigator("nina")
    client = site.client()
    wrong_code = client.signin("nina", "000000")
    assert wrong_code.status == 401 and CONSOLE_SESSION not in client.cookies
    wrong_password = client.signin("nina", phone.code(), password="not the password at all")
    assert wrong_password.status == 401 and CONSOLE_SESSION not in client.cookies
    assert wrong_code.json() == wrong_password.json()  # which factor was wrong is not said
    nobody = client.signin("nobody", phone.code())
    assert nobody.status == 401 and nobody.json() == wrong_code.json()
    page = client.get("/console/")
    assert page.status == 303 and page.headers["Location"] == "/console/signin"
    # An administrator's account is no investigator's: root cannot sign in to the console.
    root = site.fleet.authenticator
    assert root is not None and client.signin("root", root.code()).status == 401
    attempts = site.audit("console.signin")
    assert [e["outcome"] for e in attempts[-4:]] == ["wrong"] * 4


def test_the_session_cookie_is_httponly_secure_strict_and_short_lived(site: Site) -> None:
    phone = site.investigator("cora")
    client = site.client()
    client.get("/console/signin")
    answer = client.post("/console/signin", {"user": "cora", "password": PASSWORD,
                                             "totp": phone.code()})
    assert answer.status == 200
    [session] = [c for c in answer.headers.get_all("Set-Cookie") or [] if c.startswith(CONSOLE_SESSION + "=")]
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in session.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "path", "max-age"} <= set(attributes)
    assert attributes["samesite"].lower() == "samesite=strict" and attributes["path"] == "Path=/"
    assert 0 < int(attributes["max-age"].split("=")[1]) <= 1800
    assert "domain" not in attributes


def test_csrf_token_is_required_on_every_state_changing_request_and_api_read(site: Site) -> None:
    phone = site.investigator("cyril")
    client = site.client()
    client.get("/console/signin")
    body = {"user": "cyril", "password": PASSWORD, "totp": phone.code()}
    assert client.post("/console/signin", body, csrf=False).status == 403
    forged = ConsoleClient(site.fleet.url, site.fleet.ca.cert_file, dict(client.cookies), "forged-token")
    assert forged.post("/console/signin", body).status == 403
    assert CONSOLE_SESSION not in client.cookies
    signed = site.signed_in("sid")
    assert signed.get("/v1/streams", csrf=False).status == 403
    assert signed.get("/v1/streams").status == 200
    stolen = ConsoleClient(site.fleet.url, site.fleet.ca.cert_file, dict(signed.cookies), "0" * 64)
    assert stolen.get("/v1/streams").status == 403
    assert signed.post("/console/signout", {}, csrf=False).status == 403
    assert signed.get("/v1/streams").status == 200  # still signed in
    assert signed.post("/console/signout", {}).status == 200
    assert signed.get("/v1/streams").status == 401


INLINE = [re.compile(p, re.I) for p in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"\sstyle\s*=",
                                         r"javascript:", r"<style")]


def test_every_page_has_the_strict_policy_and_no_inline_script(site: Site) -> None:
    client = site.signed_in("paula")
    pages = ["/console/signin", *PAGES]
    assert {"/console/", "/console/timeline", "/console/fleet", "/console/verify"} <= set(pages)
    for path in pages:
        page = client.get(path)
        assert page.status == 200, path
        policy = page.headers["Content-Security-Policy"]
        for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
                          "frame-ancestors 'none'", "require-trusted-types-for 'script'"):
            assert directive in policy, (path, directive)
        assert "unsafe" not in policy and "http" not in policy
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        for pattern in INLINE:
            assert not pattern.search(page.body), (path, pattern.pattern)
        for src in re.findall(r'(?:src|href)="([^"]+)"', page.body):
            assert src.startswith("/console/"), (path, src)  # nothing from outside the collector
            assert client.get(src).status == 200, src
    api = client.get("/v1/streams")
    assert api.headers["Content-Security-Policy"].startswith("default-src 'none'")


ADMIN_ROUTES = [("GET", "/v1/admin/tenants"), ("GET", "/v1/admin/credentials"), ("GET", "/v1/admin/keys"),
                ("GET", "/v1/admin/investigators"), ("POST", "/v1/admin/investigators"),
                ("POST", "/v1/admin/credentials"), ("POST", "/v1/admin/erase"), ("POST", "/v1/admin/verify")]


def test_an_investigator_cannot_reach_an_admin_route(site: Site) -> None:
    client = site.signed_in("adam")
    for method, path in ADMIN_ROUTES:
        body = {"tenant": "city"}
        answer = client.request(method, path, json.dumps(body).encode() if method == "POST" else None)
        assert answer.status in (401, 403), (method, path, answer.status, answer.body)
    added = site.audit("investigators.add")
    assert added[-1]["outcome"] == "refused" and added[-1]["name"] is None  # the attempt, by nobody known
    assert all(e["role"] == "admin" for e in added if e["outcome"] == "done")


def test_page_views_that_read_logs_are_audited_with_the_investigator(site: Site) -> None:
    client = site.signed_in("vera")
    before = len(site.audit("console.view"))
    client.get("/console/")
    views = site.audit("console.view")
    assert len(views) == before + 1
    assert (views[-1]["name"], views[-1]["role"], views[-1]["tenant"]) == ("vera", "investigator", "city")
    assert views[-1]["details"] == {"page": "overview"}
    client.get("/v1/streams")
    streams = site.audit("streams")[-1]
    assert streams["name"] == "vera" and streams["credential"] == views[-1]["credential"]


def test_disabling_the_account_ends_its_sessions_at_once(site: Site) -> None:
    phone = site.investigator("dora")
    client = site.client()
    assert client.signin("dora", phone.code()).status == 200
    assert client.get("/v1/streams").status == 200
    disabled = site.fleet.admin("investigators", "disable", "dora")
    assert disabled.returncode == 0 and "1 console session(s) ended" in disabled.stderr
    assert client.get("/v1/streams").status == 401
    assert client.get("/console/").status == 303
    [entry] = [e for e in site.audit("investigators.disable") if e["details"].get("account") == "dora"]
    assert entry["outcome"] == "done" and entry["role"] == "admin"


def test_the_commands_of_the_docs_run_as_written(site: Site) -> None:
    commands = re.findall(r"```sh\n(chronolog [^\n]+)\n```", (ROOT / "docs/console.md").read_text())
    assert [c.split()[3] for c in commands] == ["add", "list", "disable"]
    env = {**os.environ, "CHRONOLOG_URL": site.fleet.url, "CHRONOLOG_CA_FILE": str(site.fleet.ca.cert_file),
           "CHRONOLOG_SESSION_FILE": str(site.fleet.session_file), "PATH": f"{BIN}:{os.environ['PATH']}"}
    client = site.client()

    def run(command: str) -> subprocess.CompletedProcess[str]:
        # A new session has no terminal: the password prompt reads stdin (the investigator's typing).
        result = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=60,
                                input=f"{PASSWORD}\n{PASSWORD}\n", start_new_session=True)
        assert result.returncode == 0, (command, result.stderr)
        return result

    uri, secret = run(commands[0]).stdout.splitlines()
    assert uri.startswith("otpauth://totp/chronolog-console:ivy?") and secret.startswith("secret (base32): ")
    assert client.signin("ivy", Authenticator(secret.split(": ")[1]).code()).status == 200
    listed = run(commands[1]).stdout.splitlines()
    assert any(line.startswith("ivy\tcity\t") and "\tenabled\t" in line for line in listed)
    assert "1 console session(s) ended" in run(commands[2]).stderr
    assert client.get("/v1/streams").status == 401
