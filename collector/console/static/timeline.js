// The timeline page: the query's lines as one timeline across hosts (GET /v1/query, page by
// page with its cursor), drawn as swim lanes (lanes.js) and listed below; a line's context
// from GET /v1/context, the query's bundle from GET /v1/export. Nothing here orders or filters
// lines: the collector does.
import { clear, el, ndjson, pageLimit, request, setStatus } from "./console.js";
import { Lanes } from "./lanes.js";
import { clockOf, isoUtc, msToWall, parseTime, validZone, wallToMs } from "./zone.js";

const FIRST_PAGE = 2000; // small, so the first lines are drawn at once
const MAX_LINES = 200000; // kept in the page; beyond it, narrow the range or the filters
const ROW = 22;
const CONTEXT = 10;
const INFERRED = new Set(["inferred_year", "inferred_date"]);

const form = document.getElementById("query");
const field = (id) => document.getElementById(id);
const state = { lines: [], params: null, zone: "UTC", controller: null, summary: null, firstDrawn: false,
  contextAsked: null };

const lanes = new Lanes(field("lanes"), {
  onSelect: (row) => select(row, true),
  label: (ms, step) => {
    const wall = msToWall(ms, state.zone);
    return step >= 864e5 ? wall.slice(0, 10) : step >= 6e4 ? wall.slice(11, 16) : step >= 1e3 ? wall.slice(11, 19)
      : wall.slice(11, 23);
  },
});

// ---- the form and the page's address ---------------------------------------------------------

function fromAddress() {
  const q = new URLSearchParams(window.location.search);
  const zone = q.get("zone") || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  field("zone").value = zone;
  const now = Date.now();
  field("since").value = q.get("since") ?? msToWall(now - 15 * 60000, zone);
  field("until").value = q.get("until") ?? "";
  for (const k of ["host", "stream", "grep"]) field(k).value = q.getAll(k).join(", ");
  field("i").checked = q.get("i") === "1";
  field("order").value = q.get("order") ?? "corrected";
  return q.has("since");
}

function list(text) {
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}

function readForm() {
  const zone = field("zone").value.trim();
  if (!validZone(zone)) throw new Error(`unknown zone ${zone}: expected an IANA name such as Asia/Tokyo`);
  const since = wallToMs(field("since").value, zone);
  const until = field("until").value ? wallToMs(field("until").value, zone) : null;
  if (until !== null && until <= since) throw new Error("'To' must be after 'From'");
  const params = { since: isoUtc(since), zone, order: field("order").value, host: list(field("host").value),
    stream: list(field("stream").value), grep: list(field("grep").value) };
  if (until !== null) params.until = isoUtc(until);
  if (field("i").checked) params.i = "1";
  return { params, since, until };
}

function toAddress() {
  const q = new URLSearchParams();
  q.set("since", field("since").value);
  if (field("until").value) q.set("until", field("until").value);
  q.set("zone", field("zone").value.trim());
  for (const k of ["host", "stream", "grep"]) for (const v of list(field(k).value)) q.append(k, v);
  if (field("i").checked) q.set("i", "1");
  q.set("order", field("order").value);
  return `/console/timeline?${q}`;
}

// ---- loading ---------------------------------------------------------------------------------

function prepare(r) {
  const corrected = state.params.order === "corrected" && r.corrected;
  r.t = parseTime(corrected ? r.corrected : r.ts);
  r.bound = corrected && r.error_bound !== null ? r.error_bound * 1000 : 0;
  r.shape = r.ts_source === "explicit" ? "explicit" : INFERRED.has(r.ts_source) ? "inferred" : r.ts_source;
  r.undecidable = r.flags.includes("order_undecidable");
  r.clockbad = r.flags.includes("clock_over_budget") || r.flags.includes("clock_unknown");
  return r;
}

async function load() {
  state.controller?.abort();
  const controller = new AbortController();
  state.controller = controller;
  const { params, since, until } = readForm();
  state.params = params;
  state.zone = params.zone;
  state.lines = [];
  state.summary = null;
  lanes.reset(state.lines, since, until ?? Date.now());
  renderList();
  closeDetail();
  setStatus("loading…");
  let cursor = null;
  let pages = 0;
  do {
    // Later pages take the collector's own page size (collector.query.max_results).
    const ask = cursor ? { cursor, zone: params.zone } : { ...params, limit: Math.min(FIRST_PAGE, pageLimit()) };
    let from = state.lines.length;
    const flush = () => {
      if (state.lines.length === from) return;
      lanes.add(from);
      from = state.lines.length;
      renderList();
      // When the first lines were drawn, in ms since the navigation began (bench/console.py).
      if (!state.firstDrawn) {
        state.firstDrawn = true;
        requestAnimationFrame(() => { document.body.dataset.firstLines = String(performance.now()); });
      }
    };
    let last = performance.now();
    await ndjson("/v1/query", ask, (r) => {
      if (r.summary) { state.summary = r.summary; return; }
      if (r.error) throw new Error(r.detail);
      state.lines.push(prepare(r));
      if (performance.now() - last > 100) { flush(); last = performance.now(); }
    }, controller.signal);
    flush();
    pages++;
    cursor = state.summary && !state.summary.complete && state.summary.stopped ? state.summary.cursor : null;
    report(pages, cursor !== null);
  } while (cursor && state.lines.length < MAX_LINES && !controller.signal.aborted);
  lanes.fit(); // all loaded: if the lines fill little of the range, show them
  document.body.dataset.loaded = String(performance.now());
  field("export").disabled = false;
}

function report(pages, more) {
  const s = state.summary ?? {};
  const n = state.lines.length;
  const bits = [`${n.toLocaleString()} lines from ${lanes.hosts.length} hosts`, `times in ${state.zone}`,
    state.params.order === "corrected" ? "ordered by clock-corrected time" : "ordered as stamped"];
  const undecidable = state.lines.reduce((k, r) => k + (r.undecidable ? 1 : 0), 0);
  if (undecidable) bits.push(`${undecidable} in undecidable order`);
  if (more) bits.push(n >= MAX_LINES ? `more in range: the first ${MAX_LINES.toLocaleString()} are shown; narrow the range or filters` : "loading more…");
  if (s.damaged?.length) bits.push(`damaged parts left out: ${s.damaged.map((d) => d.where).join(", ")}`);
  if (s.skew_beyond_margin?.length) bits.push(`clocks beyond the skew margin: ${s.skew_beyond_margin.join(", ")}`);
  setStatus(bits.join(" · "), s.damaged?.length ? "error" : "");
}

// ---- the list of lines (only the rows in view exist) ------------------------------------------

const box = field("lines");
const spacer = field("spacer");
let rendered = [-1, -1];

function flagsOf(r) {
  const f = [];
  if (r.ts_source !== "explicit") f.push(r.ts_source);
  for (const x of r.flags) if (x !== "order_undecidable") f.push(x);
  if (r.undecidable) f.push("undecidable");
  return f;
}

function lineRow(r, row) {
  const time = state.params.order === "corrected" && r.corrected ? r.corrected : r.ts;
  const bound = r.bound ? ` ±${(r.bound).toFixed(r.bound < 1 ? 3 : 1)} ms` : "";
  return el("div", { class: `line${r.undecidable ? " undecidable" : ""}${r.clockbad ? " clockbad" : ""}${row === lanes.selected ? " selected" : ""}`,
    dataset: { row: String(row) } },
  el("span", { class: "time mono" }, clockOf(time), el("span", { class: "bound" }, bound)),
  el("span", { class: "host" }, r.host),
  el("span", { class: `src ${r.shape}`, title: `ts_source: ${r.ts_source}` }, ""),
  el("span", { class: "msg mono" }, r.msg),
  el("span", { class: "flags" }, flagsOf(r).join(" ")));
}

function renderList(force = false) {
  spacer.style.height = `${state.lines.length * ROW}px`;
  const first = Math.max(0, Math.floor(box.scrollTop / ROW) - 5);
  const last = Math.min(state.lines.length, first + Math.ceil(box.clientHeight / ROW) + 10);
  if (!force && first === rendered[0] && last === rendered[1]) return;
  rendered = [first, last];
  for (const old of box.querySelectorAll(".line")) old.remove();
  for (let row = first; row < last; row++) {
    const node = lineRow(state.lines[row], row);
    node.style.top = `${row * ROW}px`;
    box.append(node);
  }
}

box.addEventListener("scroll", () => renderList());
box.addEventListener("click", (e) => {
  const node = e.target.closest(".line");
  if (node) select(Number(node.dataset.row), false);
});

// ---- a line's detail: its context in its stream, and its record -------------------------------

function closeDetail() { field("detail").hidden = true; }
field("detail-close").addEventListener("click", () => { closeDetail(); lanes.select(-1); renderList(true); });

async function select(row, scroll) {
  const r = state.lines[row];
  lanes.select(row);
  if (scroll) box.scrollTop = Math.max(0, row * ROW - box.clientHeight / 2);
  renderList(true);
  field("detail").hidden = false;
  field("detail-title").textContent = `${r.host} · ${r.stream} · seq ${r.seq}`;
  const shown = { ...r };
  for (const k of ["t", "bound", "shape", "undecidable", "clockbad"]) delete shown[k];
  field("record").textContent = JSON.stringify(shown, null, 2);
  const context = clear(field("context"));
  context.append(el("p", { class: "muted" }, "loading…"));
  const lines = [];
  const asked = (state.contextAsked = {});
  try {
    // The line as its record names it, and its stream's neighbours: GET /v1/context.
    await ndjson("/v1/context", { agent: r.agent, stream: r.stream, seq: r.seq, ts: r.ts, host: r.host,
      before: CONTEXT, after: CONTEXT, zone: state.zone }, (c) => { if (!c.summary) lines.push(c); });
  } catch (err) {
    if (asked !== state.contextAsked) return;
    clear(context).append(el("p", { class: "error" }, `cannot load its context: ${err.message}`));
    return;
  }
  if (asked !== state.contextAsked) return; // another line was chosen meanwhile
  clear(context);
  for (const c of lines) {
    const own = c.seq === r.seq && c.agent === r.agent;
    context.append(el("div", { class: `ctx ${c.kind}${own ? " own" : ""}`, dataset: { seq: String(c.seq) } },
      el("span", { class: "time mono" }, clockOf(c.ts, r.ts)), el("span", { class: "seq mono" }, `#${c.seq}`),
      el("span", { class: "msg mono" }, c.msg)));
  }
  field("detail").dataset.contextLines = String(lines.length);
}

// ---- evidence: the same bundle as `chronolog export`, from GET /v1/export ------------------------

async function exportBundle() {
  const button = field("export");
  button.disabled = true;
  setStatus("exporting: the collector seals what it holds and builds the bundle…");
  try {
    const { order, ...params } = state.params; // an export keeps the query's own order
    const response = await request("GET", "/v1/export", { params });
    const blob = await response.blob();
    const name = `chronolog-${field("since").value.replace(/[:.]/g, "")}.evidence`;
    const link = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    document.body.dataset.exported = name;
    setStatus(`exported ${name} (${blob.size.toLocaleString()} bytes, SHA-256 `
      + `${response.headers.get("X-Chronolog-Export-Sha256")}); check it on the Evidence page or with `
      + "chronolog verify-export");
  } catch (err) {
    setStatus(`cannot export: ${err.message}`, "error");
  } finally {
    button.disabled = false;
  }
}
field("export").addEventListener("click", () => exportBundle());

// ---- start ------------------------------------------------------------------------------------

form.addEventListener("submit", (e) => {
  e.preventDefault();
  window.history.replaceState(null, "", toAddress());
  load().catch((err) => setStatus(`cannot load the lines: ${err.message}`, "error"));
});

if (fromAddress()) load().catch((err) => setStatus(`cannot load the lines: ${err.message}`, "error"));
else setStatus("choose a range and press Show");
