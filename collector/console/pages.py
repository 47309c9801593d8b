"""The console's pages and static files, and the headers every collector answer carries.

Pages are HTML built from ``templates/`` (a layout and one fragment per page) with the
signed-in investigator's name, the session's end, its CSRF token and the collector's largest
query page (``collector.query.max_results``, so a page asks no more) filled in, escaped; no
page holds a script of its own (the Content-Security-Policy forbids inline script): each
loads its module from ``static/``. Static files are read once, at start, into memory and
served by name from that set only, so no path a caller sends reaches the file system.

A page is shown only to a live console session (otherwise: 303 to the sign-in page), and the
view of every page that reads logs is an audit entry (``console.view``), besides the entries
of the API reads the page then makes.
"""

from __future__ import annotations

import html
import secrets
import string
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

from chronolog.timefmt import to_rfc3339
from collector.admin.audit import AUDIT
from collector.console.cookies import CONSOLE
from collector.http import Handler
from collector.query.http import QUERY_LIMITS

__all__ = ["PAGES", "Page", "handle_signin_page", "handle_static", "load_static", "page_handler",
           "security_headers"]

# No resource from anywhere but the collector, no inline script or style, no plugin, no
# framing; DOM sinks take no strings (Trusted Types), so text from logs can never become markup.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "require-trusted-types-for 'script'; trusted-types 'none'")
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".txt": "text/plain"}


@dataclass(frozen=True, slots=True)
class Page:
    name: str  # the template fragment, and the page's script module
    title: str
    reads_logs: bool  # its view is audited


PAGES = {
    "/console/": Page("overview", "Streams", True),
    "/console/timeline": Page("timeline", "Timeline", True),
    "/console/fleet": Page("fleet", "Fleet", True),
    "/console/verify": Page("verify", "Evidence", False),  # checks a file the investigator brings
}


def _read(folder: str) -> dict[str, bytes]:
    root = resources.files("collector.console") / folder
    return {f.name: f.read_bytes() for f in root.iterdir() if f.is_file() and not f.name.startswith(".")}


STATIC = web.AppKey("console_static", dict[str, bytes])
TEMPLATES = web.AppKey("console_templates", dict[str, bytes])


def load_static(app: web.Application) -> None:
    app[STATIC] = {n: b for n, b in _read("static").items() if any(n.endswith(s) for s in TYPES)}
    app[TEMPLATES] = _read("templates")


def _render(request: web.Request, page: str, title: str, **values: str) -> web.Response:
    templates = request.app[TEMPLATES]
    layout = string.Template(templates["layout.html"].decode())
    text = layout.substitute(
        title=html.escape(title), page=page, main=templates[f"{page}.html"].decode(),
        **{k: html.escape(v, quote=True) for k, v in values.items()})
    response = web.Response(text=text, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def page_handler(page: Page) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        console = request.app[CONSOLE]
        current = console.current(request)
        if current is None:
            raise web.HTTPSeeOther("/console/signin")
        token, session = current
        principal = session.principal
        if page.reads_logs:
            # The page's own address carries what it will ask for (the timeline's range and filters).
            params = {k: request.query.getall(k) for k in sorted(set(request.query))}
            details = {"page": page.name, **({"params": params} if params else {})}
            await request.app[AUDIT].record(principal, "console.view", principal.tenant, "done", details)
        return _render(request, page.name, page.title, csrf=console.csrf(token), user=principal.name,
                       expires=to_rfc3339(int(session.expires * 1_000_000), "UTC"),
                       limit=str(request.app[QUERY_LIMITS].max_results))

    return handle


async def handle_signin_page(request: web.Request) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = _render(request, "signin", "Sign in", csrf=token, user="", expires="", limit="")
    request.app[CONSOLE].set_signin_cookie(response, token)
    return response


async def handle_static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    body = request.app[STATIC].get(name)
    if body is None:
        raise web.HTTPNotFound()
    suffix = name[name.rfind("."):]
    response = web.Response(body=body, content_type=TYPES[suffix], charset="utf-8")
    response.headers["Cache-Control"] = "no-cache"
    return response


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers on every answer of the API port (``on_response_prepare``): pages get the strict
    policy; everything else may not be rendered, framed or sniffed at all."""
    h = response.headers
    h["Content-Security-Policy"] = PAGE_CSP if response.content_type == "text/html" else OTHER_CSP
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    h["Referrer-Policy"] = "no-referrer"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Cross-Origin-Resource-Policy"] = "same-origin"
    h.setdefault("Cache-Control", "no-store")
    if request.secure:
        h["Strict-Transport-Security"] = "max-age=31536000"
