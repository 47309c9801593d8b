"""Evidence export against a real local store: every record proves against the checkpoint of
the segment it was sealed in, and `verify_bundle` names each kind of tampering."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
from support.stores import batch, make_store, store_before_roots

from chronolog.evidence.bundle import write_bundle
from chronolog.evidence.verify import BundleReport, verify_bundle
from chronolog.wire import Batch, Chunk, ClockView
from collector.auth.credentials import Principal
from collector.evidence.clock import NoCrossCheck
from collector.evidence.export import Export, ExportRequest, build_export
from collector.query.spec import Page, QuerySpec, TextFilter
from collector.store.keys import FileMasterKeys
from collector.store.local import LocalStore, StoreConfig

TENANT = "city"
IVAN = Principal("cred-1", TENANT, "investigator", "ivan")
SECOND = 1_000_000


def samples(host: str, seq: int, times: list[int], agent: str = "a1") -> Batch:
    """Clock records as an agent ships them: audit samples on the stream ``clock``."""
    n = len(times)
    chunk = Chunk("clock", seq, 1, ClockView(offset=0.001, bound=0.004, status="ok"),
                  [f"clock sample: offset +1.0 ms at {t}" for t in times], times, ["explicit"] * n,
                  [None] * n,
                  fields=[(i, {"kind": "sample", "offset": 0.001, "bound": 0.004}) for i in range(n)])
    return Batch(agent, host, "UTC", 1, [chunk])


async def two_hosts(root: Path) -> LocalStore:
    """Two segments of several blocks, lines of two hosts a second apart, and their clocks."""
    store = make_store(root, block_bytes=4096)
    for k, host in enumerate(("web-1", "web-2")):
        await store.append(TENANT, batch("file:/app.log", 0, 200, host=host, agent=f"a{k}", t0=k * 500,
                                         text=f"{host} request"), 5)
        await store.append(TENANT, samples(host, 0, [t * SECOND for t in range(0, 4)], agent=f"a{k}"), 5)
        assert await store.seal(TENANT) == 1
    return store


def export(store: LocalStore, since: int = 0, until: int = 10**12, grep: str | None = None,
           hosts: frozenset[str] = frozenset(), margin: int = 10 * SECOND) -> tuple[Export, bytes]:
    spec = QuerySpec(since, until, hosts, text=TextFilter(grep=(grep,) if grep else ()), limit=100_000)
    request = ExportRequest(Page(spec, None, 600.0, {"since": ["…"]}), margin, 60.0, IVAN)
    built = build_export(store, TENANT, request, NoCrossCheck(), 1_795_000_000_000_000)
    out = io.BytesIO()
    write_bundle(out, built.manifest, built.statement, built.records, built.proofs)
    return built, out.getvalue()


def findings(report: BundleReport) -> list[tuple[str, str]]:
    return [(f.kind, f.where) for f in report.findings]


def lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def joined(parts: list[bytes]) -> bytes:
    return b"\n".join(parts)


async def test_an_export_proves_every_record_and_carries_the_clock_evidence(tmp_path: Path) -> None:
    store = await two_hosts(tmp_path)
    built, data = export(store, grep="request 1")  # "request 1", "request 10".."request 199"
    assert built.matches == 2 * 111 and built.unproven == 0
    report = verify_bundle(data, store.signer.public)
    assert report.clean, report.findings
    assert (report.exported, report.matches, report.proven) == (2 * 111 + 8, 2 * 111, 2 * 111 + 8)
    assert report.head is not None and report.head["number"] == 2
    parts = lines(data)
    records = [orjson.loads(r) for r in parts[2:-2]]
    assert {r["host"] for r in records} == {"web-1", "web-2"}
    assert [r["stream"] for r in records[-8:]] == ["clock"] * 8  # the clock evidence follows the lines
    assert all("request 1" in r["msg"] for r in records[:-8])
    [web1, web2] = report.clocks
    assert (web1.host, web1.lines, web1.samples, web1.statuses) == ("web-1", 111, 4, {"unknown": 111})
    assert (web2.host, web2.lines, web2.samples) == ("web-2", 111, 4)
    manifest = orjson.loads(parts[0])
    assert manifest["tenant"] == TENANT and manifest["by"]["name"] == "ivan"
    assert manifest["cross_check"] == {"available": False,
                                       "reason": "this collector keeps no cross-check of host clocks"}
    # A few lines need only their blocks' hashes: the bundle is far smaller than the data.
    assert len(data) < 2 * 111 * 700 + 20_000


async def test_each_kind_of_tampering_is_named(tmp_path: Path) -> None:
    store = await two_hosts(tmp_path)
    _, data = export(store, grep="request 1")
    key = store.signer.public
    parts = lines(data)

    changed = list(parts)
    changed[5] = changed[5].replace(b"request 1", b"request 9")
    assert findings(verify_bundle(joined(changed), key)) == [("changed", "line 6")]

    removed = parts[:7] + parts[8:]
    report = verify_bundle(joined(removed), key)
    assert findings(report) == [("removed", "record 6")]
    assert "it came after line of host web-1" in report.findings[0].detail

    reordered = list(parts)
    reordered[9], reordered[10] = reordered[10], reordered[9]
    [(kind, where)] = findings(verify_bundle(joined(reordered), key))
    assert kind == "reordered" and where in ("line 10", "line 11")

    clock = list(parts)
    last = len(parts) - 3  # the last clock record
    clock[last] = clock[last].replace(b'"offset":0.001', b'"offset":0.0', 1)
    report = verify_bundle(joined(clock), key)
    assert findings(report) == [("changed", f"line {last + 1}")]
    assert "clock record of host web-2" in report.findings[0].detail


async def test_a_manifest_statement_or_proof_altered_or_another_key_is_named(tmp_path: Path) -> None:
    store = await two_hosts(tmp_path)
    _, data = export(store, grep="request 1")
    parts = lines(data)
    key = store.signer.public

    manifest = list(parts)
    manifest[0] = manifest[0].replace(b'"ivan"', b'"mallory"')
    assert findings(verify_bundle(joined(manifest), key)) == [("unsigned", "manifest")]

    other = make_store(tmp_path / "other")
    report = verify_bundle(data, other.signer.public)
    assert ("unsigned", "manifest") in findings(report) and ("unsigned", "statement") in findings(report)

    proofs = orjson.loads(parts[-2])
    segment = proofs["proofs"]["segments"][0]
    segment["touched"][0]["records"][0][0] += 1  # claim the record sits one place further
    bent = [*parts[:-2], orjson.dumps(proofs), b""]
    assert ("disproved", f"segment {segment['number']}") in findings(verify_bundle(joined(bent), key))

    unbundled = verify_bundle(data)  # no key of yours: the bundle's own, and the report says so
    assert unbundled.clean and unbundled.key == "bundle"


async def test_lines_still_in_the_wal_are_exported_unproven(tmp_path: Path) -> None:
    store = await two_hosts(tmp_path)
    await store.append(TENANT, batch("late", 0, 3, host="web-1", t0=2000, text="late line"), 5)
    built, data = export(store, grep="late line")
    assert built.unproven == 3
    report = verify_bundle(data, store.signer.public)
    assert report.clean and report.proven == 0 + (report.exported - 3)
    assert [n for n, _ in report.unproven] == [1, 2, 3]
    assert all("still in the WAL" in why for _, why in report.unproven)


async def test_an_empty_export_verifies(tmp_path: Path) -> None:
    store = await two_hosts(tmp_path)
    built, data = export(store, grep="nothing matches this")
    assert built.records == []
    report = verify_bundle(data, store.signer.public)
    assert report.clean and report.exported == 0


async def test_lines_sealed_before_records_roots_are_exported_unproven_with_the_reason(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    store_before_roots(data)
    master = FileMasterKeys.load(tmp_path / "master.key")
    store = LocalStore(data, master, StoreConfig(seal_in_subprocess=False)).open()
    await store.append(TENANT, batch("s", 80, 5, t0=0, text="new"), 5)
    await store.seal(TENANT)
    built, bundle = export(store, until=200)
    assert (built.matches, built.unproven) == (85, 80)
    report = verify_bundle(bundle, store.signer.public)
    assert report.clean and report.proven == 5 and len(report.unproven) == 80
    assert all("sealed before records roots" in why for _, why in report.unproven)
    # The signed manifest counts them: hiding proved records among the unproven is named.
    parts = lines(bundle)
    proofs = orjson.loads(parts[-2])
    proofs["proofs"]["unproven"].append([84, "moved here"])
    proofs["proofs"]["segments"][0]["touched"][0]["records"].pop()
    report = verify_bundle(joined([*parts[:-2], orjson.dumps(proofs), b""]), store.signer.public)
    assert ("disproved", "proofs") in findings(report)
