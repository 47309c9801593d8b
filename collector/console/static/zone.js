// Wall times in an IANA zone and instants, with the browser's Intl only (no library).

const partsCache = new Map();

function formatter(zone) {
  if (!partsCache.has(zone)) {
    partsCache.set(zone, new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }));
  }
  return partsCache.get(zone);
}

export function validZone(zone) {
  try { formatter(zone); return true; } catch { return false; }
}

// The zone's offset from UTC at an instant, in ms.
function offsetAt(zone, ms) {
  const p = Object.fromEntries(formatter(zone).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

// "2026-11-27T09:00[:00[.123]]" read in `zone` -> ms since the epoch (the earlier of two in a
// repeated hour; a skipped wall time moves forward by the gap).
export function wallToMs(wall, zone) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,3}))?)?$/.exec(wall);
  if (!m) throw new Error(`not a date and time: ${wall}`);
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0), +((m[7] ?? "0").padEnd(3, "0")));
  let ms = guess - offsetAt(zone, guess);
  ms = guess - offsetAt(zone, ms);
  return ms;
}

// ms -> "2026-11-27T09:00:00.000" as a wall time in `zone` (for datetime-local inputs).
export function msToWall(ms, zone) {
  const local = new Date(ms + offsetAt(zone, ms));
  return local.toISOString().slice(0, 23);
}

// An RFC 3339 time with microseconds -> ms since the epoch, keeping the microseconds.
export function parseTime(iso) {
  if (!iso) return NaN;
  const frac = /\.(\d+)/.exec(iso);
  const micro = frac ? Number(frac[1].slice(0, 6).padEnd(6, "0")) : 0;
  return Date.parse(iso.replace(/\.\d+/, "")) + micro / 1000;
}

// ms (with a fraction) -> RFC 3339 in UTC with microseconds.
export function isoUtc(ms) {
  const whole = Math.floor(ms);
  const micro = Math.round((ms - Math.floor(ms / 1000) * 1000) * 1000);
  return `${new Date(whole).toISOString().slice(0, 19)}.${String(micro).padStart(6, "0")}Z`;
}

// "09:14:03.118420" from the record's own rendering (already in the query's zone); with the
// date too when it is not the date of `near`.
export function clockOf(iso, near) {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)/.exec(iso ?? "");
  if (!m) return String(iso);
  return near && !near.startsWith(m[1]) ? `${m[1]} ${m[2]}` : m[2];
}
