// Shared by every console page: the session bar, the API client and a DOM builder.
// The API is the collector's own (/v1/...), authenticated by the HttpOnly session cookie and
// this page's CSRF token; nothing is fetched from anywhere else.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";

export const csrf = () => meta("csrf-token");
// The most lines the collector gives in one page of a query (collector.query.max_results).
export const pageLimit = () => Number(meta("page-limit")) || 10000;

export class ApiError extends Error {
  constructor(status, kind, detail) {
    super(detail || kind || `HTTP ${status}`);
    this.status = status;
    this.kind = kind;
  }
}

function signInAgain() {
  window.location.assign("/console/signin");
}

function url(path, params) {
  const u = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) {
      if (one !== undefined && one !== null && one !== "") u.searchParams.append(k, String(one));
    }
  }
  return u;
}

async function failure(response) {
  let doc = {};
  try { doc = await response.json(); } catch { /* not JSON */ }
  // A session that ended sends the person back to sign in; on the sign-in page a 401 is the answer.
  if (response.status === 401 && document.body.dataset.page !== "signin") signInAgain();
  return new ApiError(response.status, doc.error, doc.detail);
}

export async function request(method, path, { params, json, body, headers } = {}) {
  const init = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf(), ...(headers ?? {}) } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(url(path, params), init);
  if (!response.ok) throw await failure(response);
  return response;
}

export async function getJson(path, params) {
  return (await request("GET", path, { params })).json();
}

export async function postJson(path, json) {
  return (await request("POST", path, { json })).json();
}

// NDJSON as it arrives: onRecord(obj) for each line; returns when the answer ends.
export async function ndjson(path, params, onRecord, signal) {
  const response = await fetch(url(path, params), {
    credentials: "same-origin", headers: { "X-CSRF-Token": csrf() }, signal,
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line.trim()) onRecord(JSON.parse(line));
    }
  }
  if (rest.trim()) onRecord(JSON.parse(rest));
}

// el("td", {class: "num", title: "..."}, "text", child, ...): text is always text, never markup.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

export function setStatus(text, kind = "") {
  const node = document.getElementById("status");
  if (!node) return;
  node.textContent = text;
  node.className = `status ${kind}`;
}

// "12:34:56" in the browser's zone, or the ISO text when it is no time.
export function clockTime(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? String(iso) : new Date(t).toLocaleTimeString([], { hour12: false });
}

function sessionBar() {
  const page = document.body.dataset.page;
  for (const a of document.querySelectorAll("nav a[data-nav]")) {
    if (a.dataset.nav === page) a.setAttribute("aria-current", "page");
  }
  const expires = meta("session-expires");
  const signout = document.getElementById("signout");
  if (!expires || !signout) return;
  document.getElementById("expires").textContent = `until ${clockTime(expires)}`;
  const left = Date.parse(expires) - Date.now();
  if (left > 0) setTimeout(signInAgain, Math.min(left + 1000, 2 ** 31 - 1));
  signout.addEventListener("click", async () => {
    try { await postJson("/console/signout", {}); } catch { /* ended already */ }
    signInAgain();
  });
}

sessionBar();
