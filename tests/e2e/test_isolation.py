"""Tenant isolation against a real collector (item 3 of the security issue; #6, #17).

Two tenants, city and othertown, each with lines, an agent, an investigator and an
administrator of its own; and an administrator of every tenant. Every endpoint the collector
serves (taken from the application itself, so a new one cannot be forgotten) is tried by each
tenant's callers against the other tenant: naming it in a parameter or body field, forging
headers, with path tricks, with a revoked credential and with an ended or expired session.
Each attempt is refused, and no answer (nor any error, nor the metrics) carries anything of
the other tenant: its name, hosts, streams, agents, lines, credential or account names.
Afterwards the attacked tenant is intact.

The console's investigators are callers too: each tenant has one signed in (the session cookie
and its CSRF token), who tries every route as the others do; the console's own routes are tried
by everyone.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.admins import PASSWORD, Authenticator, enrol
from support.console import ConsoleClient
from support.fleet import Fleet
from support.processes import BIN, Daemon, daemon_factory, wait_for
from support.stores import make_store

from chronolog.wire import CONTENT_TYPE, Batch, Chunk, ClockView, compress, encode_batch
from collector.app import build_app, credentials_path, open_audit
from collector.auth.credentials import CredentialStore
from collector.config import CollectorConfig
from collector.telemetry import Telemetry

T0 = 1_795_000_000_000_000  # 2026-11-18


@dataclass
class Tenant:
    name: str
    host: str
    stream: str
    agent: str
    marker: str
    lines: int
    people: tuple[str, ...]  # credential and account names (the last: its console investigator)
    tokens: dict[str, str] = field(default_factory=dict)  # role -> token
    console: dict[str, str] = field(default_factory=dict)  # a signed-in browser's headers
    sessions: dict[str, str] = field(default_factory=dict)
    hold: str = ""
    credential_ids: list[str] = field(default_factory=list)

    def leaks(self, text: str) -> list[str]:
        """Which of this tenant's identifying strings ``text`` contains."""
        found = [m for m in (self.host, self.stream, self.agent, self.marker, *self.people) if m in text]
        if re.search(rf"\b{self.name}\b", text):
            found.append(self.name)
        return found


CITY = Tenant("city", "city-web-7", "file:/var/log/city-app.log", "agent-city-1", "CITYMARK", 23,
              ("city-pusher", "ivan-city", "carol", "vic-city"))
OTHER = Tenant("othertown", "othertown-db-9", "file:/srv/othertown-orders.log", "agent-othertown-4",
               "OTHERMARK", 31, ("othertown-pusher", "oscar-othertown", "olga", "otto-othertown"))

Caller = str | dict[str, str] | None  # a bearer token, a console browser's headers, or nobody


def batch_of(t: Tenant, seq: int = 0, forged: dict[str, Any] | None = None) -> bytes:
    msgs = [f"{t.marker} line {seq + i}" for i in range(t.lines)]
    chunk = Chunk(t.stream, seq, T0, ClockView(reason="test"), msgs, [T0 + i for i in range(t.lines)],
                  ["explicit"] * t.lines, [None] * t.lines)
    doc = json.loads(encode_batch(Batch(t.agent, t.host, "Asia/Tokyo", T0, [chunk])))
    return compress(json.dumps({**doc, **(forged or {})}).encode(), "zstd")


@dataclass
class Answer:
    status: int
    body: str


class World:
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        parsed = urllib.parse.urlsplit(fleet.url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.phones: dict[str, Authenticator] = {}

    def request(self, method: str, path: str, token: Caller = None, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        """One raw request: the path is sent exactly as given (no normalisation)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        all_headers = {**(headers or {})}
        if isinstance(token, dict):
            all_headers.update(token)
        elif token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if body is not None and "Content-Type" not in all_headers:
            all_headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            return Answer(response.status, response.read().decode("utf-8", "replace"))
        finally:
            conn.close()

    def login(self, user: str) -> str:
        r = self.request("POST", "/v1/admin/login", body=json.dumps(
            {"user": user, "password": PASSWORD, "totp": self.phones[user].code()}).encode())
        assert r.status == 200, r.body
        token: str = json.loads(r.body)["session"]
        return token

    def console(self, t: Tenant) -> dict[str, str]:
        """Sign ``t``'s investigator in to the console: the headers its browser then sends."""
        client = ConsoleClient(self.fleet.url)
        answer = client.signin(t.people[3], self.phones[t.people[3]].code())
        assert answer.status == 200, answer.body
        cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        return {"Cookie": cookies, "X-CSRF-Token": client.csrf}


def _routes(tmp: Path) -> set[tuple[str, str]]:
    """Every (method, path) the collector serves, from the application itself."""
    config = CollectorConfig(data_dir=tmp)
    store = make_store(tmp)
    try:
        app = build_app(config, store, CredentialStore(credentials_path(config)), Telemetry(),
                        open_audit(config, store.signer), admin=store, evidence=store)  # as serve() does
        return {(r.method, r.resource.canonical) for r in app.router.routes()
                if r.resource is not None and r.method != "HEAD"}
    finally:
        store.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("isolation")
    with daemon_factory() as make:
        fleet = Fleet(root, make)
        world = World(fleet)
        for t in (CITY, OTHER):
            for role, who in (("agent", t.people[0]), ("investigator", t.people[1])):
                path = fleet.issue_token(who, tenant=t.name, role=role)
                t.tokens[role] = path.read_text().strip()
            pushed = world.request("POST", "/v1/push", t.tokens["agent"], batch_of(t),
                                   {"Content-Type": CONTENT_TYPE, "Content-Encoding": "zstd"})
            assert pushed.status == 200, pushed.body
            world.phones[t.people[2]] = enrol(fleet.config, t.people[2], scope=t.name)
        world.phones["root"] = enrol(fleet.config, "root", scope="*")
        for t in (CITY, OTHER):
            t.sessions["admin"] = world.login(t.people[2])
            hold = world.request("POST", "/v1/admin/holds", t.sessions["admin"],
                                 json.dumps({"reason": f"case {t.marker}"}).encode())
            assert hold.status == 200, hold.body
            t.hold = json.loads(hold.body)["id"]
            listed = json.loads(world.request("GET", "/v1/admin/credentials", t.sessions["admin"]).body)
            t.credential_ids = [c["id"] for c in listed["credentials"]]
            added = world.request("POST", "/v1/admin/investigators", t.sessions["admin"], json.dumps(
                {"name": t.people[3], "password": PASSWORD}).encode())
            assert added.status == 200, added.body
            world.phones[t.people[3]] = Authenticator(json.loads(added.body)["secret"])
            t.console = world.console(t)
        yield world


# ---- the requests ---------------------------------------------------------------------------

# Served to anyone: nothing in them belongs to a tenant.
PUBLIC = {("GET", "/healthz"), ("GET", "/console"), ("GET", "/console/signin"),
          ("GET", "/console/static/{name}")}
PAGES = {("GET", "/console/"), ("GET", "/console/timeline"), ("GET", "/console/fleet"),
         ("GET", "/console/verify")}  # the signed-in one's own, or 303 to sign in
# The signed-in investigator's own, holding nothing of any tenant (a bundle it brings, checked).
CONSOLE_OWN = {("POST", "/console/verify")}
ROUTES = {("POST", "/v1/push"), ("POST", "/loki/api/v1/push"), *PUBLIC, *PAGES, *CONSOLE_OWN,
          ("POST", "/console/signin"), ("POST", "/console/signout")}
OWN_ENDS = {(("POST", "/v1/admin/logout"), "admin"), (("POST", "/console/signout"), "console")}
ROUTES |= {("GET", p) for p in (
    "/v1/query", "/v1/export", "/v1/streams", "/v1/tail", "/v1/count", "/v1/context", "/v1/hosts",
    "/v1/audit", "/v1/admin/checkpoint",
    "/v1/admin/backup",
    "/v1/admin/retention", "/v1/admin/holds", "/v1/admin/keys", "/v1/admin/tenants", "/v1/admin/credentials",
    "/v1/admin/investigators")}
ROUTES |= {("POST", p) for p in (
    "/v1/admin/login", "/v1/admin/logout", "/v1/admin/verify", "/v1/admin/retention",
    "/v1/admin/retention/apply", "/v1/admin/holds", "/v1/admin/holds/release", "/v1/admin/keys/rotate",
    "/v1/admin/erase", "/v1/admin/tenants", "/v1/admin/credentials", "/v1/admin/credentials/revoke",
    "/v1/admin/investigators", "/v1/admin/investigators/disable")}

Call = tuple[str, str, dict[str, Any] | None]  # method, path with query, JSON body


def attack(route: tuple[str, str], target: Tenant) -> Call:
    """The request a caller of another tenant makes on ``route`` against ``target``."""
    method, path = route
    t = target.name
    q = urllib.parse.urlencode
    if method == "GET":
        params: dict[str, str] = {
            "/v1/query": {"since": "1970-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z", "tenant": t},
            "/v1/export": {"since": "1970-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z", "tenant": t},
            "/v1/streams": {"tenant": t},
            "/v1/count": {"since": "1970-01-01T00:00:00Z", "step": "3600", "tenant": t},
            "/v1/hosts": {"tenant": t},
            "/v1/context": {"agent": "a", "stream": "s", "seq": "0", "ts": "2026-01-01T00:00:00Z",
                            "tenant": t},
            "/v1/audit": {"tenant": t, "verify": "1"},
            "/healthz": {},
            "/console/static/{name}": {},
        }.get(path, {"tenant": t})
        path = path.replace("{name}", "console.js")
        return method, f"{path}?{q(params)}" if params else path, None
    bodies: dict[str, dict[str, Any]] = {
        "/v1/push": {},  # send() makes the batch
        "/loki/api/v1/push": {},  # and this one
        "/v1/admin/login": {},
        "/v1/admin/logout": {},
        "/v1/admin/verify": {"tenant": t},
        "/v1/admin/retention": {"tenant": t, "days": 1, "confirm": t},
        "/v1/admin/retention/apply": {"tenant": t, "confirm": t},
        "/v1/admin/holds": {"tenant": t, "reason": "x"},
        "/v1/admin/holds/release": {"tenant": t, "id": target.hold, "confirm": t},
        "/v1/admin/keys/rotate": {"tenant": t, "confirm": t},
        "/v1/admin/erase": {"tenant": t, "confirm": t},
        "/v1/admin/tenants": {"tenant": t},
        "/v1/admin/credentials": {"tenant": t, "role": "investigator", "name": "spy"},
        "/v1/admin/credentials/revoke": {"id": target.credential_ids[0], "confirm": target.credential_ids[0]},
        "/v1/admin/investigators": {"tenant": t, "name": "spy", "password": PASSWORD},
        "/v1/admin/investigators/disable": {"tenant": t, "name": target.people[3]},
        # The victim's investigator, with a code that is not the current one: a guess.
        "/console/signin": {"user": target.people[3], "password": PASSWORD, "totp": "000000"},
        "/console/signout": {"tenant": t},
        "/console/verify": {"tenant": t},
    }
    return method, path, bodies[path]


def send(world: World, call: Call, token: Caller, attacker: Tenant = CITY,
         victim: Tenant = OTHER) -> Answer:
    method, path, body = call
    if path == "/v1/push":  # the attacker's own lines, with the victim named in a forged field
        return world.request(method, path, token, batch_of(attacker, 1000, {"tenant": victim.name}),
                             {"Content-Type": CONTENT_TYPE, "Content-Encoding": "zstd"})
    if path == "/loki/api/v1/push":  # the attacker's own lines, the victim named in Loki's tenant header
        line = {"streams": [{"stream": {"host": "h"}, "values": [["1764900000000000000", attacker.marker]]}]}
        return world.request(method, path, token, json.dumps(line).encode(),
                             {"Content-Type": "application/json", "X-Scope-OrgID": victim.name})
    return world.request(method, path, token, None if body is None else json.dumps(body).encode())


def identities(attacker: Tenant) -> dict[str, Caller]:
    return {"nobody": None, "agent": attacker.tokens["agent"],
            "investigator": attacker.tokens["investigator"], "admin": attacker.sessions["admin"],
            "console": attacker.console}


def assert_clean(answer: Answer, victim: Tenant, what: str) -> None:
    leaked = victim.leaks(answer.body)
    assert not leaked, (f"{what}: the answer ({answer.status}) shows {leaked} of {victim.name}: "
                        f"{answer.body[:300]}")


def _without_own_input(answer: Answer) -> Answer:
    """An audit answer without the parameters its own tenant's callers sent (the attacks above
    name the other tenant themselves; recording what a caller asked is not a leak)."""
    try:
        doc = json.loads(answer.body)
    except json.JSONDecodeError:
        return answer
    if not isinstance(doc, dict) or "entries" not in doc:
        return answer
    for entry in doc["entries"]:
        entry.get("details", {}).pop("params", None)
    return Answer(answer.status, json.dumps(doc))


# ---- the tests ------------------------------------------------------------------------------


def test_the_suite_knows_every_endpoint(tmp_path: Path) -> None:
    served = _routes(tmp_path / "data")
    assert served == ROUTES, f"add to this suite: {sorted(served - ROUTES)}; gone: {sorted(ROUTES - served)}"


@pytest.mark.parametrize(("attacker", "victim"), [(CITY, OTHER), (OTHER, CITY)], ids=["city", "othertown"])
def test_every_endpoint_refuses_another_tenants_callers_and_shows_nothing_of_it(
        world: World, attacker: Tenant, victim: Tenant) -> None:
    for route in sorted(ROUTES):
        call = attack(route, victim)
        for who, token in identities(attacker).items():
            if (route, who) in OWN_ENDS:
                continue  # it would end the attacker's own session, nothing of the victim's
            answer = send(world, call, token, attacker, victim)
            what = f"{who} of {attacker.name}: {call[0]} {call[1]}"
            assert_clean(answer, victim, what)
            if route in PUBLIC:
                assert answer.status < 400, f"{what}: {answer.status}"
            elif route in PAGES:
                assert answer.status == (200 if who == "console" else 303), f"{what}: {answer.status}"
            elif route in CONSOLE_OWN:
                assert answer.status == (200 if who == "console" else 401), f"{what}: {answer.status}"
            else:
                assert 400 <= answer.status < 500, f"{what}: {answer.status} {answer.body[:300]}"


@pytest.mark.parametrize(("attacker", "victim"), [(CITY, OTHER), (OTHER, CITY)], ids=["city", "othertown"])
def test_each_callers_own_answers_hold_its_tenant_only(world: World, attacker: Tenant,
                                                       victim: Tenant) -> None:
    reader, admin = attacker.tokens["investigator"], attacker.sessions["admin"]
    query = world.request("GET", "/v1/query?since=1970-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", reader)
    assert query.status == 200 and attacker.marker in query.body
    assert json.loads(query.body.splitlines()[-1])["summary"]["count"] == attacker.lines
    export = world.request("GET", "/v1/export?since=1970-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", reader)
    assert export.status == 200 and attacker.marker in export.body
    assert json.loads(export.body.split("\n", 1)[0])["records"]["matches"] == attacker.lines
    streams = json.loads(world.request("GET", "/v1/streams", reader).body)["streams"]
    assert [(s["stream"], s["lines"], s["host"]) for s in streams] == [(attacker.stream, attacker.lines,
                                                                        attacker.host)]
    hosts = world.request("GET", "/v1/hosts", reader)
    assert [h["host"] for h in json.loads(hosts.body)["hosts"]] == [attacker.host]
    # The export's cross-check of host clocks holds the caller's hosts only.
    assert set(json.loads(export.body.split("\n", 1)[0])["cross_check"]["hosts"]) <= {attacker.host}
    answers = [query, export, hosts, world.request("GET", "/v1/audit?verify=1", reader)]
    for path in ("/v1/admin/tenants", "/v1/admin/credentials", "/v1/admin/keys", "/v1/admin/holds",
                 "/v1/admin/retention", "/v1/audit?verify=1"):
        answer = world.request("GET", path, admin)
        assert answer.status == 200, f"{path}: {answer.body}"
        answers.append(answer)
    verify = world.request("POST", "/v1/admin/verify", admin, b"{}")
    assert verify.status == 200
    answers.append(verify)
    for answer in answers:
        assert_clean(_without_own_input(answer), victim, "own answer")
    assert json.loads(answers[4].body) == {"tenants": [attacker.name]}


def test_forged_tenant_fields_headers_and_path_tricks_reach_nothing_else(world: World) -> None:
    reader = CITY.tokens["investigator"]
    forged_headers = {"X-Scope-OrgID": OTHER.name, "X-Tenant": OTHER.name, "X-Forwarded-User": "olga"}
    query = world.request("GET", "/v1/query?since=1970-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", reader,
                          headers=forged_headers)
    assert query.status == 200 and CITY.marker in query.body  # headers are ignored: still city's lines
    assert_clean(query, OTHER, "forged headers")
    pushed = send(world, ("POST", "/v1/push", None), CITY.tokens["agent"])  # body carries "tenant"
    assert pushed.status == 400 and "tenant" in pushed.body
    tricks = [
        "/v1/admin/../query?since=1970-01-01T00:00:00Z&until=2100-01-01T00:00:00Z",
        "/v1/query/../admin/keys?tenant=othertown",
        "/v1/%2e%2e/admin/keys?tenant=othertown",
        "/v1/admin/keys%3Ftenant=othertown",
        "/v1//admin/keys?tenant=othertown",
        "/V1/admin/keys?tenant=othertown",
        "/v1/admin/keys?tenant=city&tenant=othertown",
        "/v1/admin/keys?tenant=othertown&tenant=city",
        "/v1/admin/keys?tenant=..%2Fothertown",
        "/v1/admin/keys?tenant=%6Fthertown",
        "/v1/admin/keys?tenant=OTHERTOWN",
        "/v1/admin/keys?tenant=othertown%00",
        "/v1/admin/backup?tenant=city/../othertown",
        "/v1/streams;tenant=othertown",
        "/v1/audit?tenant=othertown",
    ]
    for path in tricks:
        for token in (reader, CITY.sessions["admin"]):
            answer = world.request("GET", path, token)
            assert_clean(answer, OTHER, path)
            # A trick may resolve to one of the caller's own routes (/v1/admin/../query is
            # /v1/query); whatever names the other tenant is refused.
            assert answer.status >= 400 or OTHER.name not in path, f"{path}: {answer.status}"


def test_roles_hold_agents_do_not_read_investigators_do_not_write_or_administer(world: World) -> None:
    agent, reader = CITY.tokens["agent"], CITY.tokens["investigator"]
    for path in ("/v1/query?since=1970-01-01T00:00:00Z&until=2100-01-01T00:00:00Z",
                 "/v1/export?since=1970-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", "/v1/streams",
                 "/v1/audit", "/v1/admin/tenants", "/v1/admin/keys"):
        assert world.request("GET", path, agent).status == 403, path
    pushed = world.request("POST", "/v1/push", reader, batch_of(CITY, 500),
                           {"Content-Type": CONTENT_TYPE, "Content-Encoding": "zstd"})
    assert pushed.status == 403
    for path in ("/v1/admin/tenants", "/v1/admin/credentials", "/v1/admin/keys"):
        assert world.request("GET", path, reader).status == 403, path
    listed = world.request("GET", "/v1/admin/tenants", CITY.sessions["admin"])
    assert json.loads(listed.body) == {"tenants": ["city"]}


def test_nothing_is_readable_without_a_credential_and_metrics_name_no_tenant(world: World) -> None:
    """The operator's metrics show each tenant's hosts and streams (the fleet view), under an
    opaque id for the tenant, never its name, its lines or its people."""
    for method, path in sorted(ROUTES):
        answer = send(world, attack((method, path), CITY), None)
        if path == "/healthz":
            assert answer.status == 200 and json.loads(answer.body) == {"status": "ok"}
        elif path == "/v1/admin/login":
            assert answer.status == 400  # the authentication itself: it asks for the factors
        elif (method, path) in PUBLIC:
            assert answer.status < 400, f"{method} {path}: {answer.status}"
        elif (method, path) in PAGES:
            assert answer.status == 303, f"{method} {path}: {answer.status}"  # to the sign-in page
        elif (method, path) == ("POST", "/console/signin"):
            assert answer.status == 403  # not from the sign-in page: no CSRF token
        else:
            assert answer.status == 401, f"{method} {path}: {answer.status}"
        for t in (CITY, OTHER):
            assert_clean(answer, t, f"unauthenticated {method} {path}")
    with urllib.request.urlopen(world.fleet.collector.info["metrics"], timeout=10) as response:
        metrics = response.read().decode()
    assert "chronolog_collector_lines_total" in metrics
    # The sealing backlog, over every tenant and naming none (its gauges carry no label).
    backlog = {f.name: f.samples for f in text_string_to_metric_families(metrics)
               if f.name.startswith("chronolog_collector_unsealed")}
    assert set(backlog) == {"chronolog_collector_unsealed_bytes",
                            "chronolog_collector_unsealed_oldest_timestamp_seconds"}
    assert all(sample.labels == {} for samples in backlog.values() for sample in samples)
    # The store's disk, against the minimum below which appends wait (the default 512 MiB).
    disk = {f.name: f.samples[0].value for f in text_string_to_metric_families(metrics)
            if f.name.startswith("chronolog_collector_store_") and f.name.endswith("free_bytes")}
    assert disk["chronolog_collector_store_min_free_bytes"] == 512 << 20
    assert disk["chronolog_collector_store_free_bytes"] > 512 << 20
    ids = {t.name: json.loads(world.request("GET", "/v1/hosts", t.tokens["investigator"]).body)["tenant_id"]
           for t in (CITY, OTHER)}
    assert set(re.findall(r'tenant="([^"]*)"', metrics)) == set(ids.values())
    states = {(s.labels["tenant"], s.labels["host"]) for family in text_string_to_metric_families(metrics)
              if family.name == "chronolog_fleet_host_state" for s in family.samples if s.value == 1}
    assert states == {(ids[t.name], t.host) for t in (CITY, OTHER)}
    for t in (CITY, OTHER):
        # Its host and stream names are there on purpose (the one here holds the tenant's name).
        leaked = t.leaks(metrics.replace(t.host, "HOST").replace(t.stream, "STREAM"))
        assert not leaked, leaked


def test_revoked_credentials_and_ended_sessions_are_refused_everywhere(world: World) -> None:
    fleet = world.fleet
    spare = fleet.issue_token("spare-reader", tenant="city", role="investigator").read_text().strip()
    listing = subprocess.run([BIN / "chronolog-collector", "credentials", "-c", fleet.config, "list"],
                             capture_output=True, text=True, check=True).stdout
    [cid] = [line.split("\t")[0] for line in listing.splitlines() if "\tspare-reader\t" in line]
    ok = world.request("GET", "/v1/streams", spare)
    assert ok.status == 200
    revoke = subprocess.run([BIN / "chronolog-collector", "credentials", "-c", fleet.config, "revoke", cid,
                             "--confirm", cid], capture_output=True, text=True)
    assert revoke.returncode == 0, revoke.stderr
    ended = world.login("carol")
    assert world.request("POST", "/v1/admin/logout", ended, b"{}").status == 200
    signed_out = world.console(CITY)
    assert world.request("POST", "/console/signout", signed_out, b"{}").status == 200
    for method, path in sorted(ROUTES - PUBLIC - PAGES - {("POST", "/v1/admin/login")}):
        for token in (spare, ended, signed_out):
            answer = send(world, attack((method, path), CITY), token)
            assert answer.status in (401, 403), f"{method} {path}: {answer.status}"
            assert_clean(answer, OTHER, f"{method} {path}")


def test_an_expired_session_is_refused_everywhere(tmp_path: Path,
                                                  daemons: Callable[[str, Path, Path], Daemon]) -> None:
    fleet = Fleet(tmp_path, daemons, extra_config="[collector.admin]\nsession_seconds = 2\n"
                  "[collector.console]\nsession_seconds = 2\n")
    world = World(fleet)
    world.phones["root"] = enrol(fleet.config, "root")
    session = world.login("root")
    assert world.request("GET", "/v1/admin/tenants", session).status == 200
    assert world.request("POST", "/v1/admin/tenants", session, b'{"tenant": "city"}').status == 200
    added = world.request("POST", "/v1/admin/investigators", session, json.dumps(
        {"tenant": "city", "name": CITY.people[3], "password": PASSWORD}).encode())
    world.phones[CITY.people[3]] = Authenticator(json.loads(added.body)["secret"])
    browser = world.console(CITY)
    wait_for(lambda: world.request("GET", "/v1/admin/tenants", session).status == 401,
             "the session to expire")
    wait_for(lambda: world.request("GET", "/v1/streams", browser).status == 401,
             "the console session to expire")
    for method, path in sorted(ROUTES - PUBLIC - PAGES - {("POST", "/v1/admin/login")}):
        for token in (session, browser):
            answer = send(world, attack((method, path), CITY), token)
            assert answer.status in (401, 403), f"{method} {path}: {answer.status}"
    assert world.request("GET", "/console/", browser).status == 303


def test_the_attacked_tenants_are_intact(world: World) -> None:
    """Run last: after every attack above, each tenant still has its lines, key, hold and
    credentials."""
    root = world.login("root")
    for t in (CITY, OTHER):
        streams = json.loads(world.request("GET", "/v1/streams", t.tokens["investigator"]).body)["streams"]
        assert [(s["stream"], s["lines"]) for s in streams] == [(t.stream, t.lines)]
        keys = json.loads(world.request("GET", f"/v1/admin/keys?tenant={t.name}", root).body)
        assert len(keys["versions"]) == 1
        holds = json.loads(world.request("GET", f"/v1/admin/holds?tenant={t.name}", root).body)
        assert [h["id"] for h in holds["holds"]] == [t.hold]
        retention = json.loads(world.request("GET", f"/v1/admin/retention?tenant={t.name}", root).body)
        assert retention["retention_days"] == 0
        creds = json.loads(world.request("GET", f"/v1/admin/credentials?tenant={t.name}", root).body)
        assert {c["id"] for c in creds["credentials"] if c["revoked"] is None} >= set(t.credential_ids)
        assert all(c["name"] != "spy" for c in creds["credentials"])
        people = json.loads(world.request("GET", f"/v1/admin/investigators?tenant={t.name}", root).body)
        assert [(a["name"], a["disabled"]) for a in people["investigators"]] == [(t.people[3], None)]
        assert world.request("GET", "/v1/streams", world.console(t)).status == 200  # not throttled either
    tenants = json.loads(world.request("GET", "/v1/admin/tenants", root).body)["tenants"]
    assert tenants == ["city", "othertown"]
