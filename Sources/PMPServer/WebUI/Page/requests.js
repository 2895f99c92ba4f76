// Talking to endpoints: their base URLs, their tokens (one per endpoint, sent to it alone), and requests with a
// time limit whose failures read well.
const TOKEN_KEY = "swift-pmp.token:";  // + the endpoint's name

/// `host:port` (http) or a full `http(s)://host:port` URL, without a trailing slash.
function baseURL(name) {
  const text = /^https?:\/\//i.test(name) ? name : "http://" + name;
  return text.replace(/\/+$/, "");
}

class EndpointError extends Error {
  constructor(message, status) { super(message); this.status = status || 0; }
}

/// The body of `method path` on `host` as text. Throws an EndpointError saying what went wrong: the
/// endpoint's own message for an HTTP error, or why there was no answer at all.
async function request(host, path, options) {
  const { method = "GET", body, timeout = 10000 } = options || {};
  const headers = {};
  const token = tokenFor(host);
  if (token) headers["Authorization"] = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  let response;
  try {
    response = await fetch(host.base + path, { method, headers, body, signal: controller.signal,
                                                cache: "no-store", credentials: "omit", mode: "cors" });
  } catch (error) {
    clearTimeout(timer);
    if (error.name === "AbortError") throw new EndpointError("no answer within " + timeout / 1000 + " s");
    throw new EndpointError("unreachable: the connection failed (down, wrong address, or not serving swift-pmp)");
  }
  let text;
  try {
    text = await response.text();
  } catch (error) {
    throw new EndpointError("the answer was cut off: " + error.message);
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    let message = text.trim();
    try { message = JSON.parse(text).error || message; } catch (error) { /* not JSON: the text itself */ }
    throw new EndpointError("HTTP " + response.status + (message ? ": " + message : ""), response.status);
  }
  return text;
}

async function requestJSON(host, path, options) {
  const text = await request(host, path, options);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EndpointError("the answer to " + path + " is not JSON");
  }
}

function describeError(error) {
  return error instanceof EndpointError ? error.message : String(error && error.message || error);
}

// ---- tokens: one per endpoint, typed in the page or passed once as ?token=… (for the serving endpoint),
// kept for this tab. A token goes to the endpoint it was given for and to no other, so that an endpoint
// named in a link cannot collect another's token.

function tokenFor(host) { return state.tokens.get(host.name) || ""; }

function loadTokens() {
  const query = new URLSearchParams(location.search);
  if (query.has("token")) {
    if (servingHost()) setToken(servingHost(), query.get("token"));
    query.delete("token");
    // The token should not stay in the address bar, the history or a copied link.
    const rest = query.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
  }
}

/// The token kept for an endpoint in this tab (session storage is this page's origin's alone).
function storedToken(name) {
  if (!state.tokens.has(name)) {
    try { const token = sessionStorage.getItem(TOKEN_KEY + name); if (token) state.tokens.set(name, token); }
    catch (error) { /* storage off */ }
  }
  return state.tokens.get(name) || "";
}

function setToken(name, token) {
  if (token) state.tokens.set(name, token); else state.tokens.delete(name);
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY + name, token); else sessionStorage.removeItem(TOKEN_KEY + name);
  } catch (error) { /* storage off: the token lasts until the page is left */ }
  renderTokenButton();
}

function renderTokenButton() {
  const button = byId("token-button");
  const count = state.hosts.filter((host) => tokenFor(host)).length;
  button.textContent = count ? "Token ✓" : "Token";
  button.title = count ? plural(count, "endpoint") + " with a token" : "A token for endpoints started with PMP_TOKEN";
  button.classList.toggle("has-token", count > 0);
}

/// Opens the dialog for `name` (by default the first endpoint that wants a token, else the first one).
function openTokenDialog(name) {
  const select = byId("token-host");
  select.replaceChildren(...state.hosts.map((host) =>
    el("option", { value: host.name, text: host.name + (tokenFor(host) ? " ✓" : "") })));
  const wanting = state.hosts.find((host) => host.status === "error" && host.errorStatus === 401);
  select.value = name || (wanting || state.hosts[0] || { name: "" }).name;
  byId("token-input").value = storedToken(select.value);
  byId("token-dialog").showModal();
  byId("token-input").focus();
}

function setUpTokenDialog() {
  const dialog = byId("token-dialog");
  byId("token-button").addEventListener("click", () => openTokenDialog());
  byId("token-host").addEventListener("change", (event) => {
    byId("token-input").value = storedToken(event.target.value);
  });
  byId("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = byId("token-host").value;
    setToken(name, byId("token-input").value.trim());
    dialog.close();
    const host = hostNamed(name);
    if (host) resetHost(host);
    pollNow();
  });
  byId("token-clear").addEventListener("click", () => {
    byId("token-input").value = "";
    setToken(byId("token-host").value, "");
    dialog.close();
    pollNow();
  });
  byId("token-close").addEventListener("click", () => dialog.close());
}
