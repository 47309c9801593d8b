// A small SVG chart of a clock's offset with its error bound as a band, over a time window:
// written here rather than taken from a chart library, as it is one band, one line and three
// rules (an SVG path each), drawn in a table cell.
const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

// points: [[time ms, offset s, bound s], ...] in time order. The window ends at the last point
// or now, whichever is later, and starts `seconds` before, or at the first point if later (a
// host seen for a minute gets a minute's chart, not a sliver).
export function offsetChart(points, { budget = 0.1, seconds = 3 * 3600, width = 180, height = 38 } = {}) {
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "offset-chart",
    role: "img" });
  const end = Math.max(Date.now(), points.length ? points[points.length - 1][0] : 0);
  const shown = points.filter((p) => p[0] >= end - seconds * 1000);
  const start = shown.length ? Math.min(shown[0][0], end - 60000) : end - seconds * 1000;
  const reach = Math.max(budget * 1.5, ...shown.map(([, o, b]) => Math.abs(o) + b));
  const x = (t) => ((t - start) / (end - start)) * width;
  const y = (v) => height / 2 - (v / reach) * (height / 2 - 2);
  root.append(svg("line", { x1: 0, x2: width, y1: y(0), y2: y(0), class: "zero" }));
  for (const b of [budget, -budget]) root.append(svg("line", { x1: 0, x2: width, y1: y(b), y2: y(b), class: "budget" }));
  const title = svg("title", {});
  if (!shown.length) {
    title.textContent = "no clock records in the window";
    root.append(title, svg("text", { x: 4, y: height - 4, class: "none" }));
    root.lastChild.textContent = "no clock records";
    return root;
  }
  const upper = shown.map(([t, o, b]) => `${x(t).toFixed(1)},${y(o + b).toFixed(1)}`);
  const lower = shown.map(([t, o, b]) => `${x(t).toFixed(1)},${y(o - b).toFixed(1)}`).reverse();
  root.append(svg("polygon", { points: [...upper, ...lower].join(" "), class: "band" }));
  root.append(svg("polyline", { points: shown.map(([t, o]) => `${x(t).toFixed(1)},${y(o).toFixed(1)}`).join(" "),
    class: "offset" }));
  const [, o, b] = shown[shown.length - 1];
  title.textContent = `${shown.length} records; latest offset ${o.toFixed(6)} s ± ${b.toFixed(6)} s; budget ±${budget} s`;
  root.append(title);
  return root;
}
