"""The collector's HTTP API on a real loopback server (in-process), with a real store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from support.stores import make_store

from chronolog.daemon import SERVER_OPTIONS
from chronolog.timefmt import parse_rfc3339
from chronolog.wire import CONTENT_TYPE, Batch, Chunk, ClockView, compress, encode_batch
from collector.app import build_app, credentials_path, open_audit
from collector.auth.credentials import CredentialStore
from collector.config import CollectorConfig
from collector.store.local import LocalStore
from collector.telemetry import Telemetry

T0 = parse_rfc3339("2026-11-27T09:00:00+09:00")


class Api:
    def __init__(self, client: TestClient, telemetry: Telemetry, tokens: dict[str, str],
                 store: LocalStore) -> None:
        self.client = client
        self.telemetry = telemetry
        self.tokens = tokens
        self.store = store

    async def push(self, batch: Batch | bytes, token: str = "agent", encoding: str = "zstd",
                   content_type: str = CONTENT_TYPE) -> tuple[int, Any]:
        body = batch if isinstance(batch, bytes) else encode_batch(batch)
        headers = {"Authorization": f"Bearer {self.tokens.get(token, token)}",
                   "Content-Type": content_type, "Content-Encoding": encoding}
        response = await self.client.post("/v1/push", data=compress(body, encoding), headers=headers)
        return response.status, await response.json()

    async def query(self, token: str = "investigator", **params: Any) -> tuple[int, list[Any]]:
        params.setdefault("since", "2026-11-27T00:00:00+09:00")
        params.setdefault("until", "2026-11-28T00:00:00+09:00")
        params = {k: v for k, v in params.items() if v is not None}
        headers = {"Authorization": f"Bearer {self.tokens.get(token, token)}"}
        response = await self.client.get("/v1/query", params=params, headers=headers)
        text = await response.text()
        if response.status != 200:
            return response.status, [orjson.loads(text)]
        return 200, [orjson.loads(line) for line in text.splitlines()]


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    config = CollectorConfig(data_dir=tmp_path)
    store = make_store(tmp_path)
    credentials = CredentialStore(credentials_path(config))
    tokens = {
        "agent": credentials.issue("city", "agent", "web-1")[1],
        "investigator": credentials.issue("city", "investigator", "alice")[1],
        "other-agent": credentials.issue("other", "agent", "x-1")[1],
        "other-investigator": credentials.issue("other", "investigator", "bob")[1],
    }
    telemetry = Telemetry()
    app = build_app(config, store, credentials, telemetry, open_audit(config, store.signer))
    server = TestServer(app)
    await server.start_server(**SERVER_OPTIONS)  # TestServer() ignores options given to it
    client = TestClient(server)
    await client.start_server()
    yield Api(client, telemetry, tokens, store)
    await client.close()
    store.close()


def chunk(stream: str, seq: int, minutes: list[int], text: str = "line") -> Chunk:
    n = len(minutes)
    return Chunk(stream, seq, T0, ClockView(offset=0.001, bound=0.004),
                 [f"{text} {stream} {seq + i}" for i in range(n)],
                 [T0 + m * 60_000_000 for m in minutes], ["explicit"] * n, [None] * n)


def batch(host: str, *chunks: Chunk, agent: str = "a1") -> Batch:
    return Batch(agent, host, "Asia/Tokyo", T0, list(chunks))


async def test_push_then_query_gives_one_timeline_across_hosts(api: Api) -> None:
    assert (await api.push(batch("web-1", chunk("file:/a", 0, [1, 5, 9]))))[0] == 200
    assert (await api.push(batch("db-2", chunk("file:/b", 0, [2, 6]), agent="a2")))[0] == 200
    status, lines = await api.query()
    assert status == 200
    records, summary = lines[:-1], lines[-1]["summary"]
    assert [r["ts"][11:16] for r in records] == ["09:01", "09:02", "09:05", "09:06", "09:09"]
    assert [r["host"] for r in records] == ["web-1", "db-2", "web-1", "db-2", "web-1"]
    assert records[0]["ts"] == "2026-11-27T09:01:00.000000+09:00"
    assert records[0]["clock"] == {"offset": 0.001, "bound": 0.004, "synced": None, "reason": None,
                                   "status": None, "source": None}
    assert (summary["count"], summary["hits"], summary["complete"], summary["cursor"]) == (5, 5, True, None)
    assert summary["zone"] == "Asia/Tokyo" and summary["damaged"] == []


async def test_a_store_short_of_space_answers_503_with_retry_after_and_takes_the_lines_later(
        api: Api) -> None:
    api.store.space.min_free_bytes = 1 << 60  # more than any disk has free
    pushed = batch("web-1", chunk("file:/a", 0, [1, 2]))
    headers = {"Authorization": f"Bearer {api.tokens['agent']}", "Content-Type": CONTENT_TYPE,
               "Content-Encoding": "zstd"}
    body = compress(encode_batch(pushed), "zstd")
    response = await api.client.post("/v1/push", data=body, headers=headers)
    answer = await response.json()
    assert (response.status, answer["error"]) == (503, "store_unavailable")
    assert response.headers["Retry-After"] == "5"  # agents come back in seconds, not at once
    assert "below store.min_free_bytes" in answer["detail"]
    assert (await api.query())[1][-1]["summary"]["count"] == 0  # nothing was stored
    api.store.space.min_free_bytes = 0
    assert await api.push(pushed) == (200, {"accepted": 2, "duplicates": 0, "rejected": []})


async def test_query_filters_by_host_text_range_and_renders_in_the_asked_zone(api: Api) -> None:
    await api.push(batch("web-1", chunk("s", 0, [1, 2, 3], text="GET"), chunk("t", 0, [4], text="POST")))
    await api.push(batch("db-2", chunk("s", 0, [2]), agent="a2"))
    _, lines = await api.query(host="web-1", grep="POST", zone="UTC")
    assert [r["msg"] for r in lines[:-1]] == ["POST t 0"]
    assert lines[0]["ts"] == "2026-11-27T00:04:00.000000+00:00"
    _, lines = await api.query(since="2026-11-27T09:02:00+09:00", until="2026-11-27T09:03:00+09:00")
    flags = {r["msg"]: r["flags"] for r in lines[:-1]}
    # 09:03:00 by a clock measured 1 ms ahead is 09:02:59.999: in the window by its corrected time.
    assert flags == {"GET s 1": [], "line s 0": [], "GET s 2": ["corrected_in_window"]}


async def test_resent_lines_are_stored_once(api: Api) -> None:
    _, first = await api.push(batch("web-1", chunk("s", 0, [1, 2])))
    _, again = await api.push(batch("web-1", chunk("s", 0, [1, 2, 3])))
    assert (first["accepted"], first["duplicates"]) == (2, 0)
    assert (again["accepted"], again["duplicates"]) == (1, 2)
    assert len((await api.query())[1]) == 4  # three records and the summary


async def test_a_page_that_reaches_its_limit_says_so_and_its_cursor_gives_the_rest(api: Api) -> None:
    await api.push(batch("web-1", chunk("s", 0, list(range(10)))))
    _, lines = await api.query(limit="3")
    assert [r["seq"] for r in lines[:-1]] == [0, 1, 2]
    summary = lines[-1]["summary"]
    assert (summary["complete"], summary["stopped"]) == (False, "limit") and summary["cursor"]
    _, rest = await api.query(cursor=summary["cursor"], since=None, until=None)
    assert [r["seq"] for r in rest[:-1]] == list(range(3, 10))
    assert rest[-1]["summary"]["complete"] and rest[-1]["summary"]["cursor"] is None


async def test_a_bad_chunk_is_refused_alone_and_counted(api: Api) -> None:
    doc = orjson.loads(encode_batch(batch("web-1", chunk("s", 0, [1]), chunk("t", 0, [2]))))
    doc["chunks"][0]["src"] = ["made-up"]
    status, body = await api.push(orjson.dumps(doc))
    assert status == 200 and body["accepted"] == 1
    assert body["rejected"][0]["chunk"] == 0 and "src" in body["rejected"][0]["reason"]
    assert api.telemetry.registry.get_sample_value(
        "chronolog_collector_rejected_total", {"reason": "bad_chunk"}) == 1


@pytest.mark.parametrize("body, kwargs, status, kind", [
    (b"{nope", {}, 400, "bad_json"),
    (b'{"v": 1}', {}, 400, "bad_batch"),
    (b"{}", {"content_type": "application/json"}, 415, "bad_content_type"),
    (b"{}", {"encoding": "identity"}, 400, "bad_batch"),
])
async def test_bad_requests_get_typed_errors(api: Api, body: bytes, kwargs: dict[str, str],
                                             status: int, kind: str) -> None:
    got_status, got = await api.push(body, **kwargs)
    assert (got_status, got["error"]) == (status, kind)


async def test_an_unknown_content_encoding_is_415(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.tokens['agent']}", "Content-Type": CONTENT_TYPE,
               "Content-Encoding": "br"}
    response = await api.client.post("/v1/push", data=b"x", headers=headers)
    assert response.status == 415 and (await response.json())["error"] == "bad_encoding"


async def test_fields_nested_too_deep_are_a_rejected_chunk_not_a_server_error(api: Api) -> None:
    """Issue 16: 250 levels passed decoding, then broke the store's encoding (500, retried forever)."""
    deep = b'{"x":' * 249 + b"{}" + b"}" * 249
    doc = encode_batch(batch("web-1", chunk("s", 0, [1]), chunk("t", 0, [2])))
    body = doc.replace(b'"fields":[]', b'"fields":[[0,' + deep + b"]]", 1)
    status, answer = await api.push(body)
    assert status == 200 and answer["accepted"] == 1
    assert answer["rejected"] == [{"chunk": 0, "reason": "fields.0.1: fields nest deeper than 32 levels"}]


async def test_credentials_are_checked_and_roles_kept_apart(api: Api) -> None:
    b = batch("web-1", chunk("s", 0, [1]))
    assert (await api.push(b, token="clg_not-a-real-token"))[0] == 401
    assert (await api.push(b, token=""))[0] == 401
    assert (await api.push(b, token="investigator"))[0] == 403
    assert (await api.query(token="agent"))[0] == 403
    assert (await api.query(token="nonsense"))[0] == 401
    failures = api.telemetry.registry.get_sample_value
    assert failures("chronolog_collector_auth_failures_total", {"reason": "role"}) == 2


async def test_a_tenant_sees_only_its_own_lines(api: Api) -> None:
    await api.push(batch("web-1", chunk("s", 0, [1], text="city-secret")))
    await api.push(batch("x-1", chunk("s", 0, [1], text="other")), token="other-agent")
    _, mine = await api.query()
    _, theirs = await api.query(token="other-investigator")
    assert [r["msg"] for r in mine[:-1]] == ["city-secret s 0"]
    assert [r["msg"] for r in theirs[:-1]] == ["other s 0"]


async def test_a_revoked_token_stops_working_without_a_restart(api: Api, tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "credentials.json")
    [entry] = [e for e in store.entries() if e["name"] == "alice"]
    assert (await api.query())[0] == 200
    store.revoke(str(entry["id"]))
    assert (await api.query())[0] == 401


@pytest.mark.parametrize("params, detail", [
    ({"since": "yesterday"}, "RFC 3339"),
    ({"since": "2026-11-27T10:00:00+09:00", "until": "2026-11-27T09:00:00+09:00"}, "after"),
    ({"limit": "0"}, "limit"),
    ({"limit": "many"}, "limit"),
    ({"zone": "Mars/Olympus"}, "IANA"),
    ({"colour": "red"}, "unknown parameter"),
    ({"regex": "(unclosed"}, "regular expression '(unclosed'"),
    ({"not_regex": r"(a)\1"}, "RE2"),
    ({"order": "alphabetical"}, "'order' must be one of event, corrected"),
    ({"context": "101"}, "'context' must be an integer from 0 to 100"),
    ({"budget": "0"}, "'budget' must be seconds"),
    ({"i": "yes"}, "'i'"),
    ({"grep": ""}, "'grep' must be 1 to 1000 characters"),
    ({"cursor": "not-a-cursor", "since": None, "until": None}, "not a cursor this collector gave"),
    ({"cursor": "eJzLSM3JyVcozy/KSQEAGgQEXQ"}, "a cursor carries its query"),
])
async def test_bad_query_parameters_are_400_with_the_reason(api: Api, params: dict[str, str],
                                                            detail: str) -> None:
    status, [error] = await api.query(**params)
    assert status == 400 and error["error"] == "bad_query" and detail in error["detail"]


async def test_streams_report_gaps(api: Api) -> None:
    await api.push(batch("web-1", chunk("s", 0, [1, 2]), chunk("s", 5, [3])))
    response = await api.client.get("/v1/streams",
                                    headers={"Authorization": f"Bearer {api.tokens['investigator']}"})
    [stream] = (await response.json())["streams"]
    assert (stream["lines"], stream["last_seq"], stream["gaps"]) == (3, 5, [[2, 5]])


FAR = parse_rfc3339("9999-12-31T20:00:00Z")


@pytest.mark.parametrize("ts, read, shown_ts, shown_read", [
    (T0, 2**63 - 1, "2026-11-27T09:00:00.000000+09:00", "+294247-01-10T04:00:54.775807+00:00"),
    (FAR, T0, "9999-12-31T20:00:00.000000+00:00", "2026-11-27T09:00:00.000000+09:00"),
])
async def test_a_stored_instant_the_zone_cannot_show_does_not_blind_the_query(
        api: Api, ts: int, read: int, shown_ts: str, shown_read: str) -> None:
    """Issue 16: such a line (stored before the wire refused it) is shown in UTC; the other
    lines of its window and the summary still come."""
    hostile = Chunk("s", 0, read, ClockView(), ["hostile"], [ts], ["explicit"], [None])
    await api.store.append("city", batch("web-1", hostile), T0)
    await api.push(batch("web-1", chunk("t", 0, [1])))
    status, lines = await api.query(since="2026-01-01T00:00:00Z", until="9999-12-31T23:59:59Z")
    assert status == 200
    records = {r["msg"]: r for r in lines[:-1]}
    assert sorted(records) == ["hostile", "line t 0"]
    assert (records["hostile"]["ts"], records["hostile"]["read_time"]) == (shown_ts, shown_read)
    assert lines[-1]["summary"]["count"] == 2


async def test_a_failure_after_the_headers_ends_the_stream_with_an_error_record(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure once lines have left is said in the stream, not by a cut connection (a fault
    injected into rendering: nothing real is left that fails there)."""
    from collector.query.engine import Row
    from collector.query.render import Renderer

    await api.push(batch("web-1", chunk("s", 0, [1, 2, 3])))
    real = Renderer.record

    def fails_on_the_second(self: Renderer, row: Row) -> dict[str, Any]:
        if row.key[4] == 1:
            raise OverflowError("date value out of range")
        return real(self, row)

    monkeypatch.setattr(Renderer, "record", fails_on_the_second)
    status, lines = await api.query()
    assert status == 200 and [r["seq"] for r in lines[:-1]] == [0]
    # The shape of every API error; what failed stays in the collector's log.
    assert lines[-1] == {"error": "internal",
                         "detail": "the answer failed part way and is incomplete; see the collector log"}
    assert not any("summary" in x for x in lines)


async def test_a_tail_gives_the_lines_since_then_and_each_new_line_once_with_the_filters(api: Api) -> None:
    await api.push(batch("web-1", chunk("s", 0, [1], text="GET"), chunk("t", 0, [2], text="POST")))
    headers = {"Authorization": f"Bearer {api.tokens['investigator']}"}
    response = await api.client.get("/v1/tail", headers=headers,
                                     params={"since": "2026-11-27T00:00:00+09:00", "grep": "GET"})
    assert response.status == 200

    async def next_record() -> dict[str, Any]:
        while True:
            line = await asyncio.wait_for(response.content.readline(), 20)
            record = orjson.loads(line)
            if "heartbeat" not in record:
                return dict(record)

    assert (await next_record())["msg"] == "GET s 0"  # from before the tail began
    await api.push(batch("web-1", chunk("s", 0, [1], text="GET"), chunk("s", 1, [3], text="POST"),
                         chunk("s", 2, [4], text="GET")))  # a resend of seq 0, a miss, a hit
    record = await next_record()
    assert (record["msg"], record["seq"], record["kind"]) == ("GET s 2", 2, "hit")
    response.close()


async def test_count_gives_lines_per_step_and_host(api: Api) -> None:
    await api.push(batch("web-1", chunk("s", 0, [1, 1, 2, 5])))
    await api.push(batch("db-2", chunk("s", 0, [2]), agent="a2"))
    headers = {"Authorization": f"Bearer {api.tokens['investigator']}"}
    response = await api.client.get("/v1/count", headers=headers, params={
        "since": "2026-11-27T09:00:00+09:00", "until": "2026-11-27T10:00:00+09:00", "step": "120"})
    lines = [orjson.loads(x) for x in (await response.text()).splitlines()]
    assert [(x["bucket"][11:16], x["host"], x["count"]) for x in lines[:-1]] == [
        ("09:00", "web-1", 2), ("09:02", "db-2", 1), ("09:02", "web-1", 1), ("09:04", "web-1", 1)]
    assert lines[-1]["summary"]["complete"] and lines[-1]["summary"]["hits"] == 5
    bad = await api.client.get("/v1/count", headers=headers, params={"since": "2026-11-27T09:00:00+09:00"})
    assert bad.status == 400 and "'step' is required" in (await bad.json())["detail"]


async def test_context_of_one_line_by_its_id_as_a_console_asks_for_it(api: Api) -> None:
    await api.push(batch("web-1", chunk("s", 0, [1, 2, 3, 4, 5])))
    await api.push(batch("web-1", chunk("t", 0, [3])))
    _, lines = await api.query(grep="line s 2")
    [hit] = lines[:-1]
    headers = {"Authorization": f"Bearer {api.tokens['investigator']}"}
    params = {k: str(hit[k]) for k in ("agent", "stream", "seq", "ts", "host")}
    response = await api.client.get("/v1/context", headers=headers,
                                    params={**params, "before": "1", "after": "2"})
    got = [orjson.loads(x) for x in (await response.text()).splitlines()]
    assert [(r["kind"], r["seq"]) for r in got[:-1]] == [
        ("before", 1), ("hit", 2), ("after", 3), ("after", 4)]
    assert got[-1]["summary"]["count"] == 4
    missing = await api.client.get("/v1/context", headers=headers, params={**params, "seq": "99"})
    assert missing.status == 404
    bad = await api.client.get("/v1/context", headers=headers, params={"agent": "a1"})
    assert bad.status == 400 and "'stream' is required" in (await bad.json())["detail"]
