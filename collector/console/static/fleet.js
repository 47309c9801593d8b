// The fleet page: GET /v1/hosts, worst first, and each host's clock over the last hours
// from its `clock` stream (GET /v1/query?stream=clock): what the agent claimed at each record.
import { clear, el, getJson, ndjson, setStatus } from "./console.js";
import { offsetChart } from "./chart.js";

const HISTORY_S = 3 * 3600;
const MAX_PAGES = 20;
const STATE_RANK = { missing: 0, silent: 1, reporting: 2 };
const CLOCK_RANK = { over_budget: 0, unknown: 1, warn: 2, uncertain: 3, ok: 4 };

export function worstFirst(a, b) {
  return (STATE_RANK[a.state] ?? 3) - (STATE_RANK[b.state] ?? 3)
    || b.problems.length - a.problems.length
    || (CLOCK_RANK[a.clock?.status] ?? 5) - (CLOCK_RANK[b.clock?.status] ?? 5)
    || a.host.localeCompare(b.host);
}

const seconds = (s) => (s === null || s === undefined ? "—" : s < 1 ? `${(s * 1000).toFixed(0)} ms`
  : s < 120 ? `${s.toFixed(1)} s` : s < 7200 ? `${(s / 60).toFixed(0)} min` : `${(s / 3600).toFixed(1)} h`);
const signed = (s) => `${s >= 0 ? "+" : "−"}${Math.abs(s).toFixed(s !== 0 && Math.abs(s) < 0.01 ? 6 : 3)}`;

function claim(c) {
  if (!c || c.status === "unknown" || c.offset === null || c.offset === undefined) {
    return el("span", { class: "clock unknown" }, `unknown${c?.reason ? `: ${c.reason}` : ""}`);
  }
  return el("span", { class: `clock ${c.status}` }, `${c.status.replace("_", " ")} `,
    el("span", { class: "mono" }, `${signed(c.offset)} ± ${c.bound.toFixed(6)} s`));
}

function crosscheck(x, disagreement) {
  if (!x || x.status === "unknown" || x.min === undefined) return el("span", { class: "clock unknown" }, "unknown");
  const range = x.max === null ? `≥ ${signed(x.min)} s` : `${signed(x.min)} … ${signed(x.max)} s`;
  return el("span", { class: `clock ${x.status}` }, `${x.status.replace("_", " ")} `,
    el("span", { class: "mono" }, range),
    disagreement ? el("span", { class: "bad" }, ` disagrees by ${disagreement.toFixed(3)} s`) : null,
    el("span", { class: "muted" }, ` (${x.exchanges} exchanges)`));
}

function row(h, history, budget) {
  return el("tr", { dataset: { host: h.host, state: h.state }, class: h.problems.length ? "problem" : "" },
    el("td", { class: "host" }, h.host, h.expected ? null : el("span", { class: "muted", title: "not in the inventory" }, " *")),
    el("td", {}, el("span", { class: `state ${h.state}` }, h.state)),
    el("td", { class: "num", title: h.last_seen ?? "never" }, h.since_seen === null ? "never" : `${seconds(h.since_seen)} ago`),
    el("td", { class: "num" }, seconds(h.lag)),
    el("td", { class: "claim" }, claim(h.clock)),
    el("td", { class: "crosscheck" }, crosscheck(h.crosscheck, h.disagreement)),
    el("td", { class: "chart" }, offsetChart(history.get(h.host) ?? [], { budget, seconds: HISTORY_S })),
    el("td", { class: `num ${h.gaps.lines ? "warn" : ""}` }, h.gaps.lines ? `${h.gaps.lines} lines (${h.gaps.ranges})` : "none"),
    el("td", { class: "problems" }, h.problems.join(", ")));
}

// Each host's clock records of the last hours: [time ms, offset s, bound s], as the agent saw it;
// page after page with the query's cursor (each of the collector's own size), up to MAX_PAGES.
async function clockHistory(now) {
  const byHost = new Map();
  const since = new Date(now - HISTORY_S * 1000).toISOString();
  let ask = { stream: "clock", since, zone: "UTC" };
  for (let page = 0; ask && page < MAX_PAGES; page++) {
    let summary = null;
    await ndjson("/v1/query", ask, (r) => {
      if (r.summary) { summary = r.summary; return; }
      if (!r.host || !r.clock || r.clock.offset === null || r.clock.bound === null) return;
      if (!byHost.has(r.host)) byHost.set(r.host, []);
      byHost.get(r.host).push([Date.parse(r.ts), r.clock.offset, r.clock.bound]);
    });
    ask = summary && !summary.complete && summary.cursor ? { cursor: summary.cursor, zone: "UTC" } : null;
  }
  return byHost;
}

function counts(s) {
  const items = [["hosts", s.hosts], ["expected", s.expected], ["reporting", s.reporting], ["silent", s.silent],
    ["missing", s.missing], ["over budget", s.over_budget], ["clock unknown", s.clock_unknown],
    ["disagree", s.disagree]];
  return items.map(([k, v]) => el("li", { class: v && !["hosts", "expected", "reporting"].includes(k) ? "bad" : "" },
    el("b", {}, String(v)), ` ${k}`));
}

async function show() {
  setStatus("loading…");
  const doc = await getJson("/v1/hosts");
  const history = await clockHistory(Date.parse(doc.now)).catch(() => new Map());
  const hosts = [...doc.hosts].sort(worstFirst);
  clear(document.getElementById("summary")).append(...counts(doc.summary));
  const body = clear(document.querySelector("#hosts tbody"));
  for (const h of hosts) body.append(row(h, history, doc.settings.budget));
  const c = doc.collector.clock;
  document.getElementById("collector-clock").textContent = c.status === "unknown"
    ? `The collector's own clock is unknown (${c.reason}): cross-checks cannot be judged against UTC.`
    : `The collector's own clock: ${c.status}, ${signed(c.offset)} ± ${c.bound.toFixed(6)} s (servers: ${c.servers.join(", ")}).`;
  setStatus(`${hosts.length} hosts as of ${new Date(doc.now).toLocaleTimeString([], { hour12: false })}`);
}

let timer = null;
document.getElementById("refresh").addEventListener("click", () => show().catch(fail));
document.getElementById("auto").addEventListener("change", (e) => {
  clearInterval(timer);
  timer = e.target.checked ? setInterval(() => show().catch(fail), 30000) : null;
});
function fail(e) { setStatus(`cannot load the fleet: ${e.message}`, "error"); }
show().catch(fail);
