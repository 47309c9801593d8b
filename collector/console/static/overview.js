import { clear, el, getJson, setStatus } from "./console.js";

function gaps(list) {
  if (!list || list.length === 0) return "none";
  return list.map(([start, end]) => (end - start === 1 ? `${start}` : `${start}–${end - 1}`)).join(", ");
}

async function show() {
  const doc = await getJson("/v1/streams");
  const body = clear(document.querySelector("#streams tbody"));
  for (const s of doc.streams) {
    body.append(el("tr", {},
      el("td", {}, s.host ?? "—"), el("td", { class: "mono" }, s.stream), el("td", { class: "mono" }, s.agent),
      el("td", { class: "num" }, s.lines), el("td", { class: "num" }, s.last_seq),
      el("td", {}, s.last_seen ?? "—"), el("td", { class: s.gaps?.length ? "warn" : "" }, gaps(s.gaps))));
  }
  setStatus(`${doc.streams.length} streams`);
}

show().catch((e) => setStatus(`cannot load the streams: ${e.message}`, "error"));
