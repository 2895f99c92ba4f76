// The endpoints: the bar that adds, removes and disables them and shows which fail and why; the polling that
// keeps asking each one on its own (a dead or slow endpoint holds up nobody); rendering on a coalesced timer.
function makeHost(name) {
  storedToken(name);
  return { name, base: baseURL(name), enabled: true, status: "pending", error: "", errorStatus: 0, lastAnswer: 0,
           procs: [], serverTime: NaN, stacks: null, stacksError: "", tasks: null, tasksError: "", busy: new Set(),
           generation: 0 };
}

/// Forgets what was fetched; answers to requests already on their way are then ignored.
function resetHost(host) {
  host.generation += 1;
  host.status = "pending";
  host.error = "";
  host.errorStatus = 0;
  host.procs = [];
  host.serverTime = NaN;
  host.stacks = null;
  host.stacksError = "";
  host.tasks = null;
  host.tasksError = "";
}

function hostNamed(name) { return state.hosts.find((host) => host.name === name); }
function enabledHosts() { return state.hosts.filter((host) => host.enabled); }
function isLive(host) { return host.enabled && state.hosts.includes(host); }

// ---- polling

let pollTimer = 0;
let lastRound = 0;

function pollNow() {
  pollRound();
  schedulePoll();
}

function schedulePoll() {
  clearTimeout(pollTimer);
  pollTimer = 0;
  if (state.poll > 0) pollTimer = setTimeout(() => { pollRound(); schedulePoll(); }, state.poll * 1000);
}

function pollRound() {
  if (document.hidden) return;
  lastRound = Date.now();
  for (const host of enabledHosts()) {
    pollProcesses(host);
    if (state.view === "threads") pollStacks(host);
    if (state.view === "tasks") pollTasks(host);
  }
  if (state.view === "procs") pollHistory();
  scheduleRender();
}

function requestTimeout() { return Math.max(5, Math.min(2 * (state.poll || 5), 20)) * 1000; }

/// One request of one kind at a time per endpoint: a slow endpoint is not asked again before it answers.
async function fetchFrom(host, kind, path, onAnswer, onFailure) {
  if (host.busy.has(kind)) return;
  host.busy.add(kind);
  const generation = host.generation;
  try {
    const body = await requestJSON(host, path, { timeout: requestTimeout() });
    if (generation === host.generation && isLive(host)) onAnswer(body);
  } catch (error) {
    if (generation === host.generation && isLive(host)) onFailure(error);
  } finally {
    host.busy.delete(kind);
    scheduleRender();
  }
}

function pollProcesses(host) {
  return fetchFrom(host, "procs", "/procs", (body) => {
    const serverTime = parseTime(body.serverTime);
    host.serverTime = serverTime;
    host.procs = (Array.isArray(body.procs) ? body.procs : []).map((entry) => processRow(host, entry, serverTime));
    host.status = "ok";
    host.error = "";
    host.lastAnswer = Date.now();
  }, (error) => {
    host.status = "error";
    host.error = describeError(error);
    host.errorStatus = error instanceof EndpointError ? error.status : 0;
    host.procs = [];
  });
}

// ---- the endpoint bar

const hostChips = new WeakMap();

function hostChip(host) {
  let chip = hostChips.get(host);
  if (!chip) {
    const checkbox = el("input", { type: "checkbox", "aria-label": "Ask " + host.name,
                                   onchange: () => setHostEnabled(host, checkbox.checked) });
    const count = el("span", { class: "count" });
    const item = el("li", { "data-host": host.name },
      el("label", {}, checkbox, el("span", { class: "dot" }), el("span", { class: "name", text: host.name })),
      count,
      el("button", { type: "button", class: "remove", title: "Remove " + host.name,
                     "aria-label": "Remove " + host.name, text: "×", onclick: () => removeHost(host) }));
    chip = { item, checkbox, count };
    hostChips.set(host, chip);
  }
  const status = host.enabled ? host.status : "off";
  chip.item.className = "host " + status;
  chip.checkbox.checked = host.enabled;
  chip.checkbox.title = host.enabled ? "Stop asking this endpoint" : "Ask this endpoint again";
  chip.count.textContent = status === "ok" ? String(host.procs.length) : "";
  chip.count.title = status === "ok" ? plural(host.procs.length, "process", "processes") + " in flight" : "";
  chip.item.title = status === "error" ? host.name + ": " + host.error
    : status === "off" ? host.name + ": disabled" : status === "pending" ? host.name + ": asking…" : host.name;
  return chip.item;
}

function renderHosts() {
  const list = byId("hosts");
  const items = state.hosts.map(hostChip);
  const current = [...list.children];
  if (items.length !== current.length || items.some((item, index) => item !== current[index])) {
    list.replaceChildren(...items);
  }
  if (!state.hosts.length) list.replaceChildren(el("li", { class: "empty", text: "No endpoint yet: add one" }));

  const every = state.poll > 0 ? "every " + state.poll + " s" : "when refreshed";
  byId("host-errors").replaceChildren(...enabledHosts().filter((host) => host.status === "error").map((host) =>
    el("div", { class: "host-error", "data-host": host.name },
      el("b", { text: host.name }), " — " + host.error,
      host.lastAnswer ? " (last answer " + formatDuration((Date.now() - host.lastAnswer) / 1000) + " ago)" : "",
      "; asking again " + every + ".",
      host.errorStatus === 401
        ? el("span", { class: "hint", text: tokenFor(host) ? " Check its token (Token button)." : " Give its token with the Token button." })
        : null)));
  const tokenWanted = enabledHosts().some((host) => host.status === "error" && host.errorStatus === 401);
  byId("token-button").classList.toggle("wanted", tokenWanted);
}

function setHostEnabled(host, enabled) {
  host.enabled = enabled;
  resetHost(host);
  saveFragment();
  if (enabled) pollNow(); else scheduleRender();
}

function removeHost(host) {
  state.hosts = state.hosts.filter((other) => other !== host);
  resetHost(host);
  if (state.selection && state.selection.host === host.name) state.selection = null;
  saveFragment();
  scheduleRender();
}

/// Adds what was typed: `host:port`, an `http(s)://` URL, several separated by commas or spaces, or a
/// whole `pmp link` URL (its endpoints are taken).
function addHosts(text) {
  let input = text.trim();
  const link = /#\/\w*\?(?:.*&)?host=([^&]*)/.exec(input);
  if (link) input = decodePart(link[1]);
  const names = input.split(/[\s,]+/).map((part) => part.replace(/\/+$/, "")).filter(Boolean);
  const refused = names.filter((name) => !/^(https?:\/\/)?[^\s\/?#]+(\/[^\s?#]*)?$/i.test(name));
  if (refused.length) {
    showNotice("Not an endpoint (host:port, host:port/prefix or http://host:port): " + refused.join(", "), true);
    return false;
  }
  for (const name of names) {
    const known = hostNamed(name);
    if (known) {
      if (!known.enabled) { known.enabled = true; resetHost(known); }
    } else {
      state.hosts.push(makeHost(name));
    }
  }
  saveFragment();
  pollNow();
  return names.length > 0;
}

function setUpHostBar() {
  byId("add-host").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = byId("add-host-input");
    if (addHosts(input.value)) input.value = "";
  });
  const filter = byId("filter");
  filter.addEventListener("input", () => {
    state.filter = filter.value;
    saveFragment();
    render();
  });
  byId("poll").addEventListener("change", (event) => {
    state.poll = Number(event.target.value);
    saveFragment();
    pollNow();
  });
  byId("refresh-now").addEventListener("click", () => pollNow());
}

// ---- rendering

let renderTimer = 0;
let pointerDownAt = 0;  // while a button is pressed (forgotten after a while: some releases go unseen)

/// Renders soon, once for many answers; never between a press and its click (the click would be lost).
function scheduleRender() {
  if (renderTimer) return;
  renderTimer = setTimeout(() => {
    renderTimer = 0;
    if (pointerDownAt && Date.now() - pointerDownAt < 1500) { scheduleRender(); return; }
    render();
  }, 30);
}

function render() {
  for (const view of VIEWS) {
    byId("view-" + view).hidden = state.view !== view;
    byId("tab-" + view).classList.toggle("active", state.view === view);
  }
  byId("poll").value = String(state.poll);
  const filter = byId("filter");
  if (filter.value !== state.filter) filter.value = state.filter;
  renderHosts();
  renderTokenButton();
  if (state.view === "procs") { renderProcesses(); renderHistory(); }
  if (state.view === "threads") renderThreads();
  if (state.view === "tasks") renderTasks();
  if (state.view === "flame") renderFlameControls();
  renderStatusLine();
}

function renderStatusLine() {
  const enabled = enabledHosts();
  const answering = enabled.filter((host) => host.status === "ok").length;
  const parts = [answering + " of " + plural(enabled.length, "endpoint") + " answering"];
  if (state.hosts.length > enabled.length) parts.push((state.hosts.length - enabled.length) + " disabled");
  parts.push(state.poll > 0 ? "refreshing every " + state.poll + " s" : "paused");
  if (lastRound) parts.push("last asked " + formatClock(lastRound));
  byId("status-line").textContent = parts.join(" · ");
}

let noticeTimer = 0;
function showNotice(text, isError) {
  const notice = byId("notice");
  notice.textContent = text;
  notice.classList.toggle("error", !!isError);
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { notice.textContent = ""; }, 10000);
}
