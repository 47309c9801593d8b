"""Schema-driven fuzzing of a real collector (issue 16): schemathesis generates requests, valid
and invalid, for every operation of docs/openapi.yaml and sends them over real TLS to a real
`chronolog-collector` process, as the agent, investigator and administrator of tenant "fuzz".

Each answer must be no 5xx, not cut off (an NDJSON answer ends with its summary), of a status
and content type the document lists. Afterwards, tenant "city", which the fuzzer cannot reach,
reads back exactly as before, and every tenant's store verifies clean offline.

The run is derandomised so that it is the same for every landing; for a wider search locally:
``CHRONOLOG_FUZZ_EXAMPLES=500 CHRONOLOG_FUZZ_RANDOM=1 .venv/bin/python -m pytest tests/e2e/test_api_fuzz.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.case import Case
from support.fleet import Fleet
from support.processes import BIN, daemon_factory
from support.stores import batch

from chronolog.wire import CONTENT_TYPE, compress, encode_batch

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
EXAMPLES = int(os.environ.get("CHRONOLOG_FUZZ_EXAMPLES", "30"))

# The binary bodies (the batch's columns, Loki's snappy protobuf) are sent as the fuzzer's
# bytes; without a serializer it leaves out every case of such a body, and says so only in a warning.
schemathesis.serializer.alias(["application/vnd.chronolog.batch", "application/x-protobuf"],
                              "application/octet-stream")
# GET /v1/tail answers until the client goes away (a follow): it has no end to wait for, so it
# is fuzzed apart, up to its answer's head (test_the_follow_...).
schema = schemathesis.openapi.from_path(OPENAPI).exclude(path="/v1/tail")
follow = schemathesis.openapi.from_path(OPENAPI).include(path="/v1/tail")
for _fuzzed in (schema, follow):
    _fuzzed.config.generation.update(max_examples=EXAMPLES,
                                     deterministic=os.environ.get("CHRONOLOG_FUZZ_RANDOM") != "1")


@dataclass
class Target:
    fleet: Fleet
    agent: str
    investigator: str
    admin_token: str
    admin_cert: tuple[str, str]
    city_before: dict[str, Any] = field(default_factory=dict)

    def witness(self) -> dict[str, Any]:
        """What tenant city holds, read through its own investigator: lines and streams."""
        return {"lines": self.fleet.records(), "streams": self.fleet.streams()}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with daemon_factory() as daemons:
        fleet = Fleet(tmp_path_factory.mktemp("fuzz"), daemons, tls=True)
        fleet.local("credentials", "issue", "--tenant", "fuzz", "--role", "agent", "--name", "a")
        tokens = {role: fleet.issue_token(f"fuzz-{role}", "fuzz", role).read_text().strip()
                  for role in ("agent", "investigator", "admin")}
        certs = fleet.issue_certificate("fuzz-admin", "fuzz", "admin")
        # The witness: tenant city's lines, pushed and read back before the fuzzing.
        with requests.Session() as http:
            body = compress(encode_batch(batch("s", 0, 50, t0=1_700_000_000_000_000)), "zstd")
            answer = http.post(fleet.url + "/v1/push", data=body, verify=str(fleet.ca.cert_file), headers={
                "Authorization": f"Bearer {fleet.agent_token.read_text().strip()}",
                "Content-Type": CONTENT_TYPE, "Content-Encoding": "zstd"}, timeout=30)
            assert answer.status_code == 200, answer.text
        found = Target(fleet, tokens["agent"], tokens["investigator"], tokens["admin"],
                       (str(certs / "fuzz-admin.crt"), str(certs / "fuzz-admin.key")))
        found.city_before = found.witness()
        assert len(found.city_before["lines"]) == 50
        yield found


def _credentials(case: Case, target: Target) -> tuple[dict[str, str], dict[str, Any]]:
    """The Authorization header and TLS client certificate for the operation's role."""
    path = case.operation.path
    if path in ("/healthz", "/v1/admin/login"):
        return {}, {}
    if path.startswith("/v1/admin/"):
        return {"Authorization": f"Bearer {target.admin_token}"}, {"cert": target.admin_cert}
    token = target.agent if path == "/v1/push" else target.investigator
    return {"Authorization": f"Bearer {token}"}, {}


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error_or_a_cut_answer(case: Case, target: Target) -> None:
    headers, extra = _credentials(case, target)
    response = case.call(base_url=target.fleet.url, headers=headers, verify=str(target.fleet.ca.cert_file),
                         timeout=60, **extra)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                             content_type_conformance, response_schema_conformance])
    if case.operation.path in ("/v1/query", "/v1/count") and response.status_code == 200:
        last = json.loads(response.text.splitlines()[-1])
        assert "summary" in last, f"the answer does not end with its summary: {last}"


@follow.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_follow_answers_every_request_with_a_documented_head(case: Case, target: Target) -> None:
    """The follow's status and content type are decided before its first line: no 5xx, and
    only what the document lists; then the client goes away, as a follower does."""
    headers, _ = _credentials(case, target)
    kwargs = case.as_transport_kwargs(base_url=target.fleet.url, headers=headers)
    kwargs.update(stream=True, verify=str(target.fleet.ca.cert_file), timeout=60)
    with requests.request(**kwargs) as response:
        if case.method != "GET":  # the fuzzer also tries the methods the document does not list
            assert response.status_code == 405, response.text
            return
        documented = case.operation.definition.raw["responses"]
        assert response.status_code < 500, response.text
        assert str(response.status_code) in documented, (response.status_code, response.text)
        want = "application/x-ndjson" if response.status_code == 200 else "application/json"
        assert response.headers["Content-Type"].split(";")[0] == want


def test_afterwards_nothing_outside_the_requests_changed(target: Target) -> None:
    """Runs after the fuzzing (pytest keeps definition order): city reads back as before, and,
    the collector stopped cleanly, every tenant verifies clean offline."""
    assert target.witness() == target.city_before
    collector = target.fleet.collector
    assert collector.running, collector.log.read_text()[-3000:]
    assert collector.stop() == 0
    result = subprocess.run([BIN / "chronolog-collector", "verify", "-c", target.fleet.config],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in collector.log.read_text()
