"""A small synchronous client for the collector API (urllib: a CLI needs no event loop; orjson
parses answers, a fleet's hosts are a megabyte)."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import IO, Any

import orjson

from chronolog.cliutil import Failure, UsageError

__all__ = ["ApiClient"]


class ApiClient:
    def __init__(self, base_url: str, token: str | None, timeout: float = 60.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise UsageError(f"--url {base_url!r}: expected http://HOST:PORT or https://HOST:PORT")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self._ssl = ssl_context

    def _open(self, path: str, params: list[tuple[str, str]], body: bytes | None = None) -> Any:
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        # The scheme was checked in __init__, so neither call can open file: or ftp: URLs.
        request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310
        try:
            return urllib.request.urlopen(request, timeout=self.timeout, context=self._ssl)  # noqa: S310
        except urllib.error.HTTPError as e:
            raise _api_error(e) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise Failure(f"cannot reach the collector at {self.base_url}: {reason}") from None

    def get_json(self, path: str, params: list[tuple[str, str]] | None = None) -> Any:
        with self._open(path, params or []) as response:
            return self._json(response.read())

    def post_json(self, path: str, body: dict[str, Any]) -> Any:
        with self._open(path, [], json.dumps(body).encode()) as response:
            return self._json(response.read())

    def _json(self, data: bytes) -> Any:
        try:
            return orjson.loads(data)
        except ValueError:
            raise Failure(f"the answer from {self.base_url} is not JSON (is --url a chronolog "
                          f"collector?): {data[:80]!r}") from None

    def download(self, path: str, params: list[tuple[str, str]], out: IO[bytes]) -> dict[str, str]:
        """Copy a response body to ``out``; returns its headers."""
        with self._open(path, params) as response:
            while chunk := response.read(1 << 20):
                out.write(chunk)
            return dict(response.headers)

    def get_ndjson(self, path: str, params: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
        """The records of an NDJSON answer. An answer that fails part way, with an error line
        (``{"error": kind, "detail": text}``) or cut off, is a `Failure`, never a short answer."""
        with self._open(path, params) as response:
            try:
                for line in response:
                    if not line.strip():
                        continue
                    item = self._json(line)
                    if not isinstance(item, dict):
                        raise Failure(f"the answer from {self.base_url} holds a line that is not a record")
                    if "error" in item:
                        what = f"{item.get('error')}: {item.get('detail')}"
                        raise Failure(f"the collector failed part way through its answer ({what}): "
                                      "what was shown is incomplete")
                    yield item
            except (http.client.HTTPException, OSError) as e:
                raise Failure(f"the answer from {self.base_url} was cut off ({type(e).__name__}): "
                              "what was shown is incomplete") from None


def _api_error(e: urllib.error.HTTPError) -> Exception:
    try:
        body = json.load(e)
        detail = f"{body.get('error')}: {body.get('detail')}"
    except (ValueError, AttributeError):
        detail = e.reason
    message = f"the collector refused the request (HTTP {e.code}): {detail}"
    # A bad request is the user's to fix, like a bad command line.
    return UsageError(message) if e.code == 400 else Failure(message)
