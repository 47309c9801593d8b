"""The console as a program sees it: raw HTTP(S) requests with the console's cookies and CSRF
token, for the security and isolation tests (the browser tests use `support.browser`)."""

from __future__ import annotations

import http.client
import json
import re
import ssl
import subprocess
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from support.admins import PASSWORD, Authenticator

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@dataclass
class Answer:
    status: int
    body: str
    headers: http.client.HTTPMessage

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ConsoleClient:
    """One browser's worth of state: its cookies and the CSRF token of the last page."""

    url: str  # http(s)://host:port
    ca_file: Path | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, csrf: bool = True, cookies: bool = True) -> Answer:
        parts = urllib.parse.urlsplit(self.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 443
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, timeout=60,
                                                                            context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=60)
        sent = dict(headers or {})
        if cookies and self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if csrf and self.csrf:
            sent["X-CSRF-Token"] = self.csrf
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            answer = Answer(response.status, response.read().decode("utf-8", "replace"), response.headers)
        finally:
            conn.close()
        self._keep(answer)
        return answer

    def _keep(self, answer: Answer) -> None:
        for header in answer.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        found = CSRF_META.search(answer.body)
        if found and found.group(1):
            self.csrf = found.group(1)

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, **kw)

    def post(self, path: str, doc: dict[str, Any], **kw: Any) -> Answer:
        return self.request("POST", path, json.dumps(doc).encode(), **kw)

    def signin(self, user: str, code: str, password: str = PASSWORD) -> Answer:
        """The sign-in page, then the form posted as its script does; then the overview page
        (for the session's CSRF token) when it succeeded."""
        self.get("/console/signin")
        answer = self.post("/console/signin", {"user": user, "password": password, "totp": code})
        if answer.status == 200:
            self.get("/console/")
        return answer


def add_investigator(chronolog: Any, session_file: Path, name: str, tenant: str,
                     password: str = PASSWORD) -> Authenticator:
    """``chronolog admin investigators add NAME --tenant T --password-stdin`` in an
    administrator's session (``chronolog`` runs the CLI with the collector's URL)."""
    result: subprocess.CompletedProcess[str] = chronolog(
        "--session-file", session_file, "admin", "investigators", "add", name, "--tenant", tenant,
        "--password-stdin", stdin=password + "\n")
    assert result.returncode == 0, result.stderr
    uri, secret_line = result.stdout.splitlines()
    assert uri.startswith(f"otpauth://totp/chronolog-console:{name}?") and "algorithm=SHA256" in uri
    return Authenticator(secret_line.split(": ", 1)[1])
