// The page's state and its form in the URL fragment (#/VIEW?host=h1:p1,h2:p2&…), plus the small helpers
// every part uses. The parts share one scope: served, they run in one function, in index.html's order.
const VIEWS = ["procs", "threads", "tasks", "flame"];
const POLL_CHOICES = [0, 1, 2, 5, 10, 30];
const SVG_NS = "http://www.w3.org/2000/svg";

const state = {
  view: "procs",
  hosts: [],
  poll: 2,
  filter: "",
  sort: { key: "age", descending: true },
  selection: null,
  threadsHost: "",
  threadSort: { key: "blockedFor", descending: true },
  reasonFilter: "",
  expandedThreads: new Set(),
  tasksHost: "",
  taskStateFilter: "",
  expandedTaskGroups: new Set(),
  flame: { host: "", seconds: 5, hz: 100, byState: true, registered: false, repeat: false },
  tokens: new Map(),  // endpoint name -> its token; each is sent to its endpoint only
};

// ---- small helpers

function byId(id) { return document.getElementById(id); }

/// An element with properties (`class`, `text`, `title`, `on…` listeners, attributes) and children.
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/// Milliseconds since the epoch from RFC 3339 (Go writes up to nine fraction digits, more than Date takes).
function parseTime(text) {
  const m = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:?\d\d)$/.exec(text || "");
  if (!m) return NaN;
  let ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (m[7]) ms += Number("0." + m[7]) * 1000;
  if (!/^[Zz]$/.test(m[8])) {
    const digits = m[8].slice(1).replace(":", "");
    const offset = (+digits.slice(0, 2) * 60 + +digits.slice(2)) * 60000;
    ms -= m[8][0] === "-" ? -offset : offset;
  }
  return ms;
}

/// A duration in seconds the way a person reads it: 850 ms, 4.25 s, 12.5 s, 3m 05s, 2h 10m, 3d 4h.
function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  if (seconds < 0) seconds = 0;
  if (seconds < 1) return Math.round(seconds * 1000) + " ms";
  if (seconds < 10) return seconds.toFixed(2) + " s";
  if (seconds < 60) return seconds.toFixed(1) + " s";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return minutes + "m " + String(Math.floor(seconds % 60)).padStart(2, "0") + "s";
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return hours + "h " + String(minutes % 60).padStart(2, "0") + "m";
  return Math.floor(hours / 24) + "d " + (hours % 24) + "h";
}

function formatClock(ms) {
  if (!isFinite(ms)) return "–";
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

/// An attribute value of any JSON type as text.
function formatValue(value) {
  if (value === null) return "null";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function plural(n, one, many) { return n + " " + (n === 1 ? one : (many || one + "s")); }

function isMissing(value) { return value === undefined || value === null || (typeof value === "number" && isNaN(value)); }

/// Orders numbers as numbers and text naturally ("req-9" before "req-10").
function compareValues(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return formatValue(a).localeCompare(formatValue(b), undefined, { numeric: true, sensitivity: "base" });
}

/// Sorts rows in place by `value(row)`, ascending or descending, rows without a value last either way.
function sortRows(rows, value, descending, tieBreak) {
  return rows.sort((a, b) => {
    const x = value(a), y = value(b);
    if (isMissing(x) || isMissing(y)) {
      if (isMissing(x) !== isMissing(y)) return isMissing(x) ? 1 : -1;
      return tieBreak(a, b);
    }
    const order = compareValues(x, y);
    return (descending ? -order : order) || tieBreak(a, b);
  });
}

/// Rows kept by the filter: every word of it appears in the row's text (case ignored).
function filterWords() { return state.filter.toLowerCase().split(/\s+/).filter(Boolean); }
function matchesFilter(text, words) {
  const haystack = text.toLowerCase();
  return words.every((word) => haystack.includes(word));
}

// Wait reasons keep one colour everywhere (the list, the bars, the chips); others get one from their name.
const REASON_COLORS = {
  "running": "#23924a", "condition wait": "#3a72c8", "mutex lock": "#cf3f2e", "rwlock": "#d0652a",
  "semaphore wait": "#8f58c9", "I/O wait (event loop)": "#1b97a6", "I/O wait (poll)": "#49b3c0",
  "read": "#7250b5", "write": "#a06bd6", "accept": "#557aa8", "connect": "#557aa8", "sleep": "#8c96a2",
  "idle": "#c5cbd2", "futex wait": "#c98a1b", "thread join": "#a1785a", "no answer": "#2b2b2b",
  "unknown": "#a9aeb8",
};
function hashHue(text) {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619) >>> 0;
  return hash % 360;
}
function reasonColor(reason) { return REASON_COLORS[reason] || "hsl(" + hashHue(reason) + " 42% 52%)"; }
function statusColor(status) {
  if (/^\[/.test(status)) return "#c5cbd2";
  return "hsl(" + hashHue(status) + " 55% 55%)";
}
function swatch(color, className) {
  const node = el("span", { class: className || "swatch" });
  node.style.background = color;
  return node;
}

// ---- the URL fragment

function servingHost() { return /^https?:$/.test(location.protocol) ? location.host : ""; }

function splitList(text) {
  return (text || "").split(",").map((part) => part.trim().replace(/\/+$/, "")).filter(Boolean);
}

function decodePart(text) {
  try { return decodeURIComponent(text.replace(/\+/g, " ")); } catch (error) { return text; }
}
function encodePart(text) {
  return encodeURIComponent(text).replace(/%3A/gi, ":").replace(/%2C/gi, ",").replace(/%2F/gi, "/");
}

function readFragment() {
  const fragment = location.hash.replace(/^#/, "");
  const question = fragment.indexOf("?");
  const path = (question < 0 ? fragment : fragment.slice(0, question)).replace(/^\/+|\/+$/g, "");
  const params = new Map();
  if (question >= 0) {
    for (const part of fragment.slice(question + 1).split("&")) {
      if (!part) continue;
      const equals = part.indexOf("=");
      params.set(decodePart(equals < 0 ? part : part.slice(0, equals)),
                 equals < 0 ? "" : decodePart(part.slice(equals + 1)));
    }
  }
  return { view: path, params };
}

/// Takes the state from the fragment; endpoints already known keep what was fetched from them.
function applyFragment() {
  const { view, params } = readFragment();
  state.view = VIEWS.includes(view) ? view : "procs";
  const names = [...new Set(splitList(params.get("host")))];
  if (names.length === 0 && !params.has("host") && servingHost()) names.push(servingHost());
  const disabled = new Set(splitList(params.get("off")));
  const known = new Map(state.hosts.map((host) => [host.name, host]));
  state.hosts = names.map((name) => {
    const host = known.get(name) || makeHost(name);
    const enabled = !disabled.has(name);
    if (host.enabled !== enabled) { host.enabled = enabled; resetHost(host); }
    return host;
  });
  const poll = Number(params.get("poll"));
  if (params.has("poll") && POLL_CHOICES.includes(poll)) state.poll = poll;
  state.filter = params.get("filter") || "";
  const sort = params.get("sort");
  if (sort) state.sort = { key: sort.replace(/^-/, ""), descending: sort.startsWith("-") };
  const selection = params.get("sel");
  if (selection && selection.includes(",")) {
    const comma = selection.indexOf(",");
    state.selection = { host: selection.slice(0, comma), id: selection.slice(comma + 1) };
  } else {
    state.selection = null;
  }
  state.threadsHost = params.get("th") || "";
  state.tasksHost = params.get("tk") || "";
  const flame = state.flame;
  flame.host = params.get("fh") || flame.host;
  const seconds = Number(params.get("seconds"));
  if (seconds > 0) flame.seconds = seconds;
  const hz = Number(params.get("hz"));
  if (hz > 0) flame.hz = hz;
  if (params.has("state")) flame.byState = params.get("state") !== "0";
  if (params.has("registered")) flame.registered = params.get("registered") === "1";
}

/// The fragment for the current state, or for another view of it.
function fragmentFor(view) {
  const params = [];
  const names = state.hosts.map((host) => host.name);
  if (!(names.length === 1 && names[0] === servingHost())) params.push("host=" + names.map(encodePart).join(","));
  const off = state.hosts.filter((host) => !host.enabled).map((host) => encodePart(host.name));
  if (off.length) params.push("off=" + off.join(","));
  if (state.poll !== 2) params.push("poll=" + state.poll);
  if (state.filter) params.push("filter=" + encodePart(state.filter));
  if (!(state.sort.key === "age" && state.sort.descending)) {
    params.push("sort=" + (state.sort.descending ? "-" : "") + encodePart(state.sort.key));
  }
  if (view === "procs" && state.selection) {
    params.push("sel=" + encodePart(state.selection.host + "," + state.selection.id));
  }
  if (view === "threads" && state.threadsHost) params.push("th=" + encodePart(state.threadsHost));
  if (view === "tasks" && state.tasksHost) params.push("tk=" + encodePart(state.tasksHost));
  if (view === "flame") {
    const flame = state.flame;
    if (flame.host) params.push("fh=" + encodePart(flame.host));
    params.push("seconds=" + flame.seconds, "hz=" + flame.hz);
    if (!flame.byState) params.push("state=0");
    if (flame.registered) params.push("registered=1");
  }
  return "#/" + view + (params.length ? "?" + params.join("&") : "");
}

/// Writes the state into the URL without a new history entry (a new one only when the view changes).
function saveFragment() {
  const fragment = fragmentFor(state.view);
  if (location.hash !== fragment) history.replaceState(null, "", fragment);
  for (const view of VIEWS) byId("tab-" + view).setAttribute("href", fragmentFor(view));
}
