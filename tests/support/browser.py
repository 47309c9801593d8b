"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by Selenium
through chromedriver, started as the machine notes say: no sandbox (root), no GPU, nothing
fetched from the network by the browser itself, a fresh profile each time.

Over TLS it trusts exactly the collector's certificate (its SPKI pinned with
``--ignore-certificate-errors-spki-list``), not every certificate."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,900")


def spki_pin(cert_file: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of a PEM certificate, as Chromium's flag wants it."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@contextmanager
def chromium(workdir: Path, trust: Path | None = None) -> Iterator[WebDriver]:
    """A browser with its profile and downloads (``workdir/downloads``) in ``workdir``; ``trust``:
    the server's certificate."""
    for program, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(program, os.X_OK):
            pytest.skip(f"needs {program} (Debian package {package}; `make test` installs it as root)")
    workdir.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={workdir / 'profile'}")
    if trust is not None:
        options.add_argument(f"--ignore-certificate-errors-spki-list={spki_pin(trust)}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": str(workdir / "downloads"),
                                              "download.prompt_for_download": False})
    service = Service(CHROMEDRIVER, log_output=str(workdir / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    (workdir / "downloads").mkdir(exist_ok=True)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow",
                                                           "downloadPath": str(workdir / "downloads")})
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver, timeout: float = 30.0) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, timeout, poll_frequency=0.05)


def browser_errors(driver: WebDriver) -> list[str]:
    """What the pages logged as errors since the last call: script errors, failed loads and
    Content-Security-Policy violations among them."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(driver: WebDriver, name: str, workdir: Path) -> Path:
    """Save the window as ``name``.png in ``$CHRONOLOG_SCREENSHOTS`` (docs/console.md's pictures
    are made so) or ``workdir/screenshots``; checks it is a PNG of the window's size."""
    folder = Path(os.environ.get("CHRONOLOG_SCREENSHOTS") or workdir / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and height >= 500, (width, height)
    return path


def sign_in(driver: WebDriver, url: str, user: str, password: str, code: str) -> None:
    """Open the console, land on the sign-in page, sign in as a person would."""
    driver.get(url + "/console/")
    wait(driver).until(lambda d: d.current_url.endswith("/console/signin"))
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "totp").send_keys(code)
    driver.find_element(By.ID, "submit").click()
    wait(driver).until(lambda d: d.current_url.endswith("/console/"))
