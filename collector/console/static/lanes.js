// The swim lanes: one per host, each line a mark at its (corrected) time with its error bound
// as a whisker, drawn on one canvas. Only what is in view is drawn: a lane whose lines in view
// outnumber its pixels is drawn as counts per column instead (aggregated when zoomed out).

const LANE = 30;
const AXIS = 26;
const LEFT = 120;
const COLORS = { normal: "#1f5fbf", undecidable: "#7a3db8", clockbad: "#b3261e", selected: "#1d2430" };

function lowerBound(a, x) {
  let lo = 0, hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] < x) lo = mid + 1; else hi = mid; }
  return lo;
}

function niceStep(ms) {
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5,
    9e5, 18e5, 36e5, 72e5, 108e5, 216e5, 432e5, 864e5];
  return steps.find((s) => s >= ms) ?? 864e5;
}

export class Lanes {
  constructor(canvas, { onSelect, label }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onSelect = onSelect;
    this.label = label; // ms -> axis text in the query's zone
    this.hosts = []; // [{name, times: number[], rows: number[]}]
    this.byName = new Map();
    this.lines = [];
    this.view = [0, 1];
    this.full = [0, 1];
    this.selected = -1;
    this.pending = false;
    this.drawn = 0; // marks drawn in the last frame (for tests)
    this.aggregated = false;
    this.listen();
  }

  reset(lines, start, end) {
    this.lines = lines;
    this.hosts = [];
    this.byName.clear();
    this.full = [start, end];
    this.view = [start, end];
    this.selected = -1;
    this.resize();
  }

  // Lines appended to `lines` since the last call (they arrive in timeline order).
  add(from) {
    for (let i = from; i < this.lines.length; i++) {
      const r = this.lines[i];
      let lane = this.byName.get(r.host);
      if (!lane) {
        lane = { name: r.host, times: [], rows: [] };
        this.byName.set(r.host, lane);
        this.hosts.push(lane);
        this.hosts.sort((a, b) => a.name.localeCompare(b.name));
        this.resize();
      }
      // Corrected order is the order of arrival; keep each lane sorted even so (as stamped
      // differs from corrected by at most the error bounds).
      if (lane.times.length && r.t < lane.times[lane.times.length - 1]) {
        const at = lowerBound(lane.times, r.t);
        lane.times.splice(at, 0, r.t);
        lane.rows.splice(at, 0, i);
      } else {
        lane.times.push(r.t);
        lane.rows.push(i);
      }
    }
    this.schedule();
  }

  resize() {
    const width = this.canvas.parentElement.clientWidth;
    const height = AXIS + Math.max(1, this.hosts.length) * LANE + 4;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.width = width;
    this.height = height;
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  x(t) { return LEFT + ((t - this.view[0]) / (this.view[1] - this.view[0])) * (this.width - LEFT - 8); }
  t(x) { return this.view[0] + ((x - LEFT) / (this.width - LEFT - 8)) * (this.view[1] - this.view[0]); }

  draw() {
    const began = performance.now();
    const { ctx, width, height } = this;
    ctx.clearRect(0, 0, width, height);
    this.axis();
    this.drawn = 0;
    this.marks = [];
    this.aggregated = false;
    this.hosts.forEach((lane, k) => this.lane(lane, AXIS + k * LANE));
    this.canvas.dataset.drawn = String(this.drawn);
    // What was drawn, for a reader that cannot see the canvas (tests, assistive tools): each mark
    // as [row, x, y, whisker width in px], when there are few enough to list.
    this.canvas.dataset.marks = this.marks.length <= 200 ? JSON.stringify(this.marks) : "";
    this.canvas.dataset.drawMs = (performance.now() - began).toFixed(2); // bench/console.py
    this.canvas.dataset.aggregated = String(this.aggregated);
    this.canvas.dataset.hosts = this.hosts.map((h) => h.name).join(",");
  }

  axis() {
    const { ctx } = this;
    const span = this.view[1] - this.view[0];
    const step = niceStep(span / 8);
    ctx.fillStyle = "#5b6575";
    ctx.strokeStyle = "#d9dee6";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "top";
    for (let t = Math.ceil(this.view[0] / step) * step; t <= this.view[1]; t += step) {
      const x = this.x(t);
      ctx.beginPath(); ctx.moveTo(x, AXIS - 6); ctx.lineTo(x, this.height); ctx.stroke();
      ctx.fillText(this.label(t, step), x + 2, 4);
    }
  }

  lane(lane, top) {
    const { ctx } = this;
    const mid = top + LANE / 2;
    ctx.fillStyle = "#f4f6f9";
    ctx.fillRect(0, top + 1, LEFT - 6, LANE - 2);
    ctx.fillStyle = "#1d2430";
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.fillText(lane.name, 6, mid, LEFT - 14);
    ctx.strokeStyle = "#eef1f5";
    ctx.beginPath(); ctx.moveTo(LEFT, mid); ctx.lineTo(this.width, mid); ctx.stroke();
    const from = lowerBound(lane.times, this.view[0]);
    const to = lowerBound(lane.times, this.view[1]);
    // More than one line per few pixels: marks would hide each other (and cost a frame), so
    // the lane shows how many lines fall in each pixel column instead.
    const room = (this.width - LEFT) / 4;
    if (to - from > room) this.columns(lane, from, to, top);
    else for (let k = from; k < to; k++) this.mark(this.lines[lane.rows[k]], lane.rows[k], mid);
  }

  columns(lane, from, to, top) {
    this.aggregated = true;
    const { ctx } = this;
    const counts = new Uint32Array(Math.ceil(this.width));
    for (let k = from; k < to; k++) counts[Math.floor(this.x(lane.times[k]))]++;
    const most = Math.max(...counts);
    ctx.fillStyle = COLORS.normal;
    for (let x = LEFT; x < counts.length; x++) {
      if (!counts[x]) continue;
      const h = Math.max(1, (Math.log1p(counts[x]) / Math.log1p(most)) * (LANE - 6));
      ctx.fillRect(x, top + LANE - 3 - h, 1, h);
    }
  }

  mark(r, row, y) {
    const { ctx } = this;
    const x = this.x(r.t);
    const color = row === this.selected ? COLORS.selected : r.undecidable ? COLORS.undecidable
      : r.clockbad ? COLORS.clockbad : COLORS.normal;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    let whisker = 0;
    if (r.bound > 0) { // the whisker: the corrected time ± its error bound
      const x0 = this.x(r.t - r.bound), x1 = this.x(r.t + r.bound);
      whisker = x1 - x0;
      if (whisker >= 2) {
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(x0, y); ctx.lineTo(x1, y);
        ctx.moveTo(x0, y - 4); ctx.lineTo(x0, y + 4);
        ctx.moveTo(x1, y - 4); ctx.lineTo(x1, y + 4);
        ctx.stroke();
      }
    }
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    switch (r.shape) {
      case "read_time": ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.fillStyle = "#fff"; ctx.fill(); ctx.stroke(); break;
      case "assumed_zone": ctx.moveTo(x, y - 5); ctx.lineTo(x + 5, y); ctx.lineTo(x, y + 5); ctx.lineTo(x - 5, y);
        ctx.closePath(); ctx.fill(); break;
      case "inferred": ctx.moveTo(x, y - 5); ctx.lineTo(x + 5, y + 4); ctx.lineTo(x - 5, y + 4); ctx.closePath();
        ctx.fill(); break;
      default: ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.fill();
    }
    if (row === this.selected) { ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.stroke(); }
    this.drawn++;
    if (this.marks.length <= 200) this.marks.push([row, Math.round(x), Math.round(y), Math.round(whisker * 10) / 10]);
  }

  select(row) { this.selected = row; this.schedule(); }

  // Show the lines loaded so far, with a margin, when they fill little of the range (a range
  // ending "now" whose lines are all in its last seconds, say). A double click shows it all.
  fit() {
    const times = this.hosts.flatMap((h) => (h.times.length ? [h.times[0], h.times[h.times.length - 1]] : []));
    if (!times.length) return;
    const lo = Math.min(...times), hi = Math.max(...times);
    const [a, b] = this.full;
    if (hi - lo > (b - a) / 2) return;
    const pad = Math.max((hi - lo) * 0.05, 500);
    this.view = [Math.max(a, lo - pad), Math.min(b, hi + pad)];
    this.schedule();
  }

  zoom(factor, atX) {
    const t = this.t(atX);
    let [a, b] = this.view;
    a = t - (t - a) * factor;
    b = t + (b - t) * factor;
    if (b - a < 0.01) return; // 10 µs across: as far as it goes
    this.view = [a, b];
    this.schedule();
  }

  // The line nearest a point of the canvas, within a few pixels, or -1.
  hit(px, py) {
    const k = Math.floor((py - AXIS) / LANE);
    const lane = this.hosts[k];
    if (!lane) return -1;
    const from = lowerBound(lane.times, this.t(px - 6));
    const to = lowerBound(lane.times, this.t(px + 6));
    let best = -1, dist = 7;
    for (let i = from; i < to; i++) {
      const d = Math.abs(this.x(lane.times[i]) - px);
      if (d < dist) { dist = d; best = lane.rows[i]; }
    }
    return best;
  }

  // Where a line's mark is drawn, in CSS pixels of the canvas (for tests and keyboard use).
  where(row) {
    const r = this.lines[row];
    const k = this.hosts.findIndex((h) => h.name === r.host);
    return { x: this.x(r.t), y: AXIS + k * LANE + LANE / 2 };
  }

  listen() {
    const c = this.canvas;
    let drag = null;
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      this.zoom(Math.pow(1.0015, e.deltaY), e.offsetX);
    }, { passive: false });
    c.addEventListener("mousedown", (e) => { drag = { x: e.offsetX, view: [...this.view], moved: false }; });
    window.addEventListener("mouseup", () => { setTimeout(() => { drag = null; }, 0); });
    c.addEventListener("mousemove", (e) => {
      if (!drag || !(e.buttons & 1)) return;
      const dx = e.offsetX - drag.x;
      if (Math.abs(dx) > 2) drag.moved = true;
      const per = (drag.view[1] - drag.view[0]) / (this.width - LEFT - 8);
      this.view = [drag.view[0] - dx * per, drag.view[1] - dx * per];
      this.schedule();
    });
    c.addEventListener("click", (e) => {
      if (drag?.moved) return;
      const row = this.hit(e.offsetX, e.offsetY);
      if (row >= 0) this.onSelect(row);
    });
    c.addEventListener("dblclick", () => { this.view = [...this.full]; this.schedule(); });
    window.addEventListener("resize", () => this.resize());
  }
}
