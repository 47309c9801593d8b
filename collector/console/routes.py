"""Mount the console: its investigators' sessions, sign-in, pages and static files."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from collector.auth.admins import AdminAccounts
from collector.auth.login import LoginGate
from collector.console.config import ConsoleConfig
from collector.console.cookies import CONSOLE, ConsoleSessions
from collector.console.pages import (
    PAGES,
    handle_signin_page,
    handle_static,
    load_static,
    page_handler,
)
from collector.console.signin import SIGNIN_GATE, handle_signin, handle_signout
from collector.console.verify import handle_verify
from collector.http import COOKIE_SESSIONS

__all__ = ["add_console", "investigators_path"]


def investigators_path(data_dir: Path) -> Path:
    return data_dir / "investigators.json"


def add_console(app: web.Application, config: ConsoleConfig, accounts: AdminAccounts) -> None:
    """The investigators' sessions always (administrators manage the accounts and an erase ends
    them); the pages and the cookie on the API only when the console is enabled."""
    console = ConsoleSessions(accounts, config.session_seconds)
    app[CONSOLE] = console
    if not config.enabled:
        return
    app[COOKIE_SESSIONS] = console
    app[SIGNIN_GATE] = LoginGate(accounts)
    load_static(app)
    r = app.router
    r.add_get("/console", _to_console)
    for path, page in PAGES.items():
        r.add_get(path, page_handler(page))
    r.add_get("/console/signin", handle_signin_page)
    r.add_post("/console/signin", handle_signin)
    r.add_post("/console/signout", handle_signout)
    r.add_post("/console/verify", handle_verify)
    r.add_get("/console/static/{name}", handle_static)


async def _to_console(_: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/console/")
