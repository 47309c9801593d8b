"""Loki's push API on a real collector: what Promtail, Alloy, Fluent Bit or Vector send lands in
the store and comes back from `chronolog query`. JSON from a real Loki client from PyPI
(python-logging-loki), protobuf + snappy built from Loki's push.proto (tests/support/loki.py)."""

from __future__ import annotations

import gzip
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import logging_loki
import pytest
from support.fleet import Fleet
from support.loki import post, push_request, snappy
from support.processes import Daemon, wait_for

PROTOBUF = "application/x-protobuf"


@pytest.fixture
def fleet(tmp_path: Path, daemons: Callable[[str, Path, Path], Daemon]) -> Fleet:
    return Fleet(tmp_path, daemons)


@pytest.fixture
def loki_logger(fleet: Fleet) -> Iterator[logging.Logger]:
    handler = logging_loki.LokiHandler(url=f"{fleet.url}/loki/api/v1/push", version="1",
                                       tags={"host": "app-1", "app": "billing"},
                                       auth=("city", fleet.agent_token.read_text().strip()))
    handler.handleError = lambda record: pytest.fail(f"python-logging-loki failed to push {record}")  # type: ignore[method-assign]
    logger = logging.getLogger("chronolog-test.loki")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger
    logger.removeHandler(handler)


def bearer(fleet: Fleet, token: Path | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {(token or fleet.agent_token).read_text().strip()}"}


def test_a_line_from_python_logging_loki_comes_back_explicitly_timed(fleet: Fleet,
                                                                     loki_logger: logging.Logger) -> None:
    before = time.time_ns()
    loki_logger.warning("invoice 42 paid")  # JSON, HTTP Basic with the token as password
    wait_for(lambda: fleet.records("--grep", "invoice 42"), "the line at the collector")
    [record] = fleet.records("--grep", "invoice 42")
    assert record["msg"] == "invoice 42 paid" and record["host"] == "app-1"
    assert record["stream"] == 'loki:{app="billing", logger="chronolog-test.loki", severity="warning"}'
    assert record["ts_source"] == "explicit" and before <= int(record["ts_raw"]) <= time.time_ns()
    assert record["agent"] == "loki:app-1" and record["clock"]["status"] == "unknown"


def test_a_protobuf_push_comes_back_with_its_nanoseconds_and_metadata(fleet: Fleet) -> None:
    sent = 1_764_900_000  # 2025-12-05T02:00:00Z
    body = push_request(('{job="varlogs", host="web-9", filename="/var/log/syslog"}',
                         [(sent, 123_456_789, "first line", {}),
                          (sent + 1, 5, "second line", {"trace_id": "t-7"})]),
                        ('{job="audit"}', [(sent + 2, 0, "no host label", {})]))
    assert post(fleet.url, snappy(body), PROTOBUF, bearer(fleet)) == (204, "")
    records = [r for r in fleet.records() if r["stream"].startswith("loki:")]
    assert [r["msg"] for r in records] == ["first line", "second line", "no host label"]
    by_msg = {r["msg"]: r for r in records}
    first, second, orphan = by_msg["first line"], by_msg["second line"], by_msg["no host label"]
    assert first["ts"] == "2025-12-05T11:00:00.123456+09:00" and first["ts_raw"] == "1764900000123456789"
    assert first["ts_source"] == second["ts_source"] == "explicit"
    assert (first["host"], first["stream"]) == ("web-9", 'loki:{filename="/var/log/syslog", job="varlogs"}')
    assert (first["seq"], second["seq"]) == (0, 1)
    assert second["fields"] == {"structured_metadata": {"trace_id": "t-7"}}
    assert (orphan["host"], orphan["stream"]) == ("unknown", 'loki:{job="audit"}')


def test_gzip_json_out_of_range_times_and_refusals(fleet: Fleet) -> None:
    far = "999999999999999999999"  # past 9999-12-29
    doc = {"streams": [{"stream": {"host": "web-3"}, "values": [[far, "from the far future"]]}]}
    status, _ = post(fleet.url, gzip.compress(json.dumps(doc).encode()), "application/json",
                     {**bearer(fleet), "Content-Encoding": "gzip"})
    assert status == 204
    [kept] = fleet.records("--grep", "far future")
    assert kept["ts_source"] == "read_time" and kept["ts_flags"] == ["loki_time_out_of_range"]
    assert kept["ts_raw"] == far  # kept, and said so
    body = snappy(push_request(('{host="x"}', [(1, 0, "x", {})])))
    assert post(fleet.url, body, PROTOBUF)[0] == 401
    assert post(fleet.url, body, PROTOBUF, bearer(fleet, fleet.investigator_token))[0] == 403
    status, answer = post(fleet.url, body, PROTOBUF, {**bearer(fleet), "X-Scope-OrgID": "other"})
    assert status == 403 and "X-Scope-OrgID" in answer
    assert post(fleet.url, body, PROTOBUF, {**bearer(fleet), "X-Scope-OrgID": "city"})[0] == 204
    assert post(fleet.url, body, "text/plain", bearer(fleet))[0] == 415
    assert post(fleet.url, b"\x05garbage", PROTOBUF, bearer(fleet))[0] == 415
    status, answer = post(fleet.url, snappy(b"\x0a\x03abc"), PROTOBUF, bearer(fleet))
    assert status == 400 and "bad_p" in answer


def test_numbers_continue_after_a_restart_and_a_resent_batch_is_stored_twice(fleet: Fleet) -> None:
    body = snappy(push_request(('{host="web-5", job="app"}', [(1_764_900_000, 0, "once", {})])))
    assert post(fleet.url, body, PROTOBUF, bearer(fleet))[0] == 204
    fleet.collector.stop()
    fleet.collector.start()
    after = snappy(push_request(('{host="web-5", job="app"}', [(1_764_900_001, 0, "after the restart", {})])))
    assert post(fleet.url, after, PROTOBUF, bearer(fleet))[0] == 204
    # Loki push has no sequence numbers: a batch sent again is new lines (docs/loki.md).
    assert post(fleet.url, body, PROTOBUF, bearer(fleet))[0] == 204
    assert [r["msg"] for r in fleet.records()] == ["once", "once", "after the restart"]
    [stream] = [s for s in fleet.streams() if s["stream"] == 'loki:{job="app"}']
    assert (stream["agent"], stream["lines"], stream["last_seq"], stream["gaps"]) == ("loki:web-5", 3, 2, [])
