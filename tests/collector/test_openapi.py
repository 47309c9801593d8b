"""docs/openapi.yaml stays true: every route the collector's app registers is documented, and
everything documented is a route. tests/e2e/test_api_fuzz.py fuzzes a real collector from it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from aiohttp import web
from support.stores import make_store

from collector.app import build_app, credentials_path, open_audit
from collector.auth.credentials import CredentialStore
from collector.config import CollectorConfig
from collector.telemetry import Telemetry

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def documented() -> set[tuple[str, str]]:
    doc = yaml.safe_load(OPENAPI.read_text())
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item
            if method in METHODS}


def registered(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route; HEAD only where it was added on its own (aiohttp
    adds one beside every GET)."""
    found = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method == "HEAD":
            continue
        path = resource.canonical
        if isinstance(resource, web.StaticResource):
            path = path.rstrip("/") + "/{filename}"
        found.add((route.method, path))
    return found


@pytest.fixture
def app(tmp_path: Path) -> web.Application:
    config = CollectorConfig(data_dir=tmp_path)
    store = make_store(tmp_path)
    return build_app(config, store, CredentialStore(credentials_path(config)), Telemetry(),
                     open_audit(config, store.signer), admin=store, evidence=store)


def test_every_route_the_app_registers_is_documented(app: web.Application) -> None:
    missing = sorted(registered(app) - documented())
    assert not missing, (
        "routes the collector registers but docs/openapi.yaml does not document: "
        + ", ".join(f"{m} {p}" for m, p in missing)
        + ". Add each under 'paths' with its parameters, body and every status it answers.")


def test_everything_documented_is_a_route(app: web.Application) -> None:
    stale = sorted(documented() - registered(app))
    assert not stale, ("docs/openapi.yaml documents routes the collector does not have: "
                       + ", ".join(f"{m} {p}" for m, p in stale))


def test_the_document_is_valid_openapi() -> None:
    import schemathesis

    schema = schemathesis.openapi.from_path(OPENAPI)
    operations = [result.ok() for result in schema.get_all_operations()]  # raises on an invalid one
    assert {(op.method.upper(), op.path) for op in operations} == documented()
