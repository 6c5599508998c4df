// Shared by every page: the bearer token, JSON and SSE calls, downloads, DOM and number helpers.
// Text is always inserted with textContent (never innerHTML): ticket text and facts are untrusted.

const TOKEN_KEY = "outcomedesk.token";

export class ApiError extends Error {
  constructor(status, error, detail) {
    super(detail || error || `HTTP ${status}`);
    this.status = status;
    this.error = error;
  }
}

// The token arrives once, from a server-side injection (data-token) or the URL fragment (#token=...), which
// browsers never send to servers; it is kept in sessionStorage (this tab only) and erased from the page.
export function takeToken() {
  const body = document.body;
  const injected = body.dataset.token;
  if (injected) {
    sessionStorage.setItem(TOKEN_KEY, injected);
    delete body.dataset.token;
  }
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const fromUrl = fragment.get("token");
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    fragment.delete("token");
    const rest = fragment.toString();
    history.replaceState(null, "", window.location.pathname + window.location.search + (rest ? `#${rest}` : ""));
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function authHeaders(extra = {}) {
  const value = token();
  return value ? { Authorization: `Bearer ${value}`, ...extra } : { ...extra };
}

async function failure(response) {
  let error = "http_error";
  let detail = `HTTP ${response.status}`;
  try {
    const body = await response.json();
    error = body.error || error;
    detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch (_) {
    /* not JSON: keep the status line */
  }
  if (response.status === 401) detail = `Your access token was refused (${detail}). Open the page again from the link you were given.`;
  if (response.status === 403) detail = `This token may not see this page (${detail}).`;
  return new ApiError(response.status, error, detail);
}

export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = authHeaders({ Accept: "application/json" });
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

// Server-sent events over a POST (EventSource can only GET): yields {event, data} as they arrive.
export async function* postEvents(path, body, { signal } = {}) {
  const response = await fetch(path, {
    method: "POST",
    headers: authHeaders({ Accept: "text/event-stream", "Content-Type": "application/json" }),
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffer += decoder.decode(value, { stream: true });
    let split;
    while ((split = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, split);
      buffer = buffer.slice(split).replace(/^\r?\n\r?\n/, "");
      const parsed = parseEvent(block);
      if (parsed) yield parsed;
    }
    if (done) break;
  }
  const tail = parseEvent(buffer);
  if (tail) yield tail;
}

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return null;
  return { event, data: JSON.parse(data.join("\n")) };
}

// Downloads need the Authorization header, so they go through fetch and a short-lived blob URL.
export async function download(path, fallbackName) {
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) throw await failure(response);
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="?([^";]+)"?/.exec(disposition);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: match ? match[1] : fallbackName, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function showError(target, error) {
  clear(target, error instanceof ApiError ? error.message : `Something went wrong: ${error.message || error}`);
  target.className = "notice error";
}

export function money(cents, currency = "USD") {
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(Number(cents) / 100);
}

export function percent(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return "n/a";
  return `${(value * 100).toFixed(digits)}%`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "n/a";
  const sign = seconds < 0 ? "−" : "";
  const s = Math.abs(seconds);
  if (s < 90) return `${sign}${Math.round(s)} s`;
  if (s < 5400) return `${sign}${(s / 60).toFixed(1)} min`;
  if (s < 172800) return `${sign}${(s / 3600).toFixed(1)} h`;
  return `${sign}${(s / 86400).toFixed(1)} d`;
}

export function dateTime(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : moment.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

// A page needs a token before anything else; without one it says how to get one.
export function requireToken(noticeNode) {
  const value = takeToken();
  if (!value) {
    clear(
      noticeNode,
      "No access token. Open this page from the link printed by ",
      el("code", { text: "outcomedesk demo" }),
      " or add ",
      el("code", { text: "#token=YOUR_TOKEN" }),
      " to the address.",
    );
    noticeNode.className = "notice error";
  }
  return value;
}
