// The flame graph of a fresh profile of one endpoint (GET /profile?format=svg), read as data and drawn again
// by the page: only boxes, colours, titles and labels are taken, so nothing of the answer runs in the page.
let flameRecording = null;  // { host, seconds, startedAt } while a profile is taken
let flameShown = null;      // { host, seconds, hz, at } of the graph on screen
let flameError = "";
let flameRepeatTimer = 0;
let flameAutoHost = "";     // the endpoint last recorded on opening the view (not again until it changes)

function setSelectValue(select, value, label) {
  const text = String(value);
  if (![...select.options].some((option) => option.value === text)) {
    select.append(el("option", { value: text, text: label }));
  }
  select.value = text;
}

function renderFlameControls() {
  const flame = state.flame;
  const select = byId("flame-host");
  const names = enabledHosts().map((host) => host.name);
  if ([...select.options].map((option) => option.value).join("\n") !== names.join("\n")) {
    select.replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
  }
  if (!names.includes(flame.host)) flame.host = names[0] || "";
  select.value = flame.host;
  setSelectValue(byId("flame-seconds"), flame.seconds, flame.seconds + " s");
  setSelectValue(byId("flame-hz"), flame.hz, flame.hz + " Hz");
  byId("flame-state").checked = flame.byState;
  byId("flame-registered").checked = flame.registered;
  byId("flame-repeat").checked = flame.repeat;
  byId("flame-record").disabled = !!flameRecording || !flame.host;
  renderFlameStatus();
}

function renderFlameStatus() {
  const status = byId("flame-status");
  status.classList.toggle("error", !flameRecording && !!flameError);
  if (flameRecording) {
    const progress = el("div", { class: "progress" }, el("span"));
    status.replaceChildren("Recording " + flameRecording.seconds + " s on ",
                           el("span", { class: "mono", text: flameRecording.host }), "…", progress);
    // The bar fills over the profile's length, from the time it started.
    const elapsed = (Date.now() - flameRecording.startedAt) / 1000;
    const bar = progress.firstChild;
    bar.style.width = Math.min(100, 100 * elapsed / flameRecording.seconds) + "%";
    const remaining = Math.max(0, flameRecording.seconds - elapsed);
    setTimeout(() => { bar.style.transition = "width " + remaining + "s linear"; bar.style.width = "100%"; }, 20);
  } else if (flameError) {
    status.replaceChildren("No profile: " + flameError);
  } else if (flameShown) {
    status.replaceChildren("Profile of ", el("span", { class: "mono", text: flameShown.host }),
      ": " + flameShown.seconds + " s at " + flameShown.hz + " Hz, recorded at " + formatClock(flameShown.at)
      + ". Hover a frame for its share; click it to zoom, click the bottom bar to zoom out.");
  } else {
    status.replaceChildren(state.flame.host ? "" : "No endpoint to profile.");
  }
  byId("flame-record").disabled = !!flameRecording || !state.flame.host;
}

async function recordProfile() {
  clearTimeout(flameRepeatTimer);
  const flame = state.flame;
  const host = hostNamed(flame.host);
  if (!host || !host.enabled || flameRecording) return;
  const seconds = flame.seconds;
  const hz = flame.hz;
  const path = "/profile?format=svg&seconds=" + seconds + "&hz=" + hz + (flame.byState ? "&state=1" : "")
    + (flame.registered ? "&threads=registered" : "");
  flameRecording = { host: host.name, seconds, startedAt: Date.now() };
  flameError = "";
  renderFlameStatus();
  let failed = false;
  try {
    const svg = await request(host, path, { timeout: (seconds + 20) * 1000 });
    showFlameGraph(svg);
    flameShown = { host: host.name, seconds, hz, at: Date.now() };
  } catch (error) {
    failed = true;
    flameError = describeError(error);
  } finally {
    flameRecording = null;
    renderFlameStatus();
  }
  if (state.flame.repeat && state.view === "flame" && !failed) {
    flameRepeatTimer = setTimeout(recordProfile, 1000);
  }
}

const FLAME_MAX_FRAMES = 50000;
const FLAME_CHAR_WIDTH = 12 * 0.59;  // as FlameGraphRenderer cuts labels

function svgElement(tag, attributes) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
  return node;
}

function finiteNumber(text) { const value = Number(text); return isFinite(value) ? value : 0; }

/// The server's SVG as data (DOMParser's document runs nothing and loads nothing): its size, its two
/// heading lines, and each frame's box, colour and title.
function readFlameGraph(text) {
  const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = parsed.documentElement;
  if (!root || root.localName !== "svg" || parsed.getElementsByTagName("parsererror").length) {
    throw new Error("the profile is not an SVG image");
  }
  const headingOf = (name) => {
    const node = [...root.getElementsByTagName("text")].find((candidate) => candidate.getAttribute("class") === name);
    return node ? node.textContent : "";
  };
  const frames = [];
  for (const group of root.getElementsByTagName("g")) {
    if (group.getAttribute("class") !== "f") continue;
    const rect = group.getElementsByTagName("rect")[0];
    const title = group.getElementsByTagName("title")[0];
    if (!rect || !title) continue;
    const fill = rect.getAttribute("fill") || "";
    const titleText = title.textContent;
    const cut = titleText.lastIndexOf(" (");
    frames.push({ title: titleText, name: cut > 0 ? titleText.slice(0, cut) : titleText,
                  x: finiteNumber(rect.getAttribute("x")), y: finiteNumber(rect.getAttribute("y")),
                  w: Math.max(0, finiteNumber(rect.getAttribute("width"))),
                  h: Math.max(0, finiteNumber(rect.getAttribute("height"))),
                  fill: /^rgb\(\d{1,3},\d{1,3},\d{1,3}\)$/.test(fill) ? fill : "rgb(200,200,200)" });
    if (frames.length >= FLAME_MAX_FRAMES) break;
  }
  return { width: Math.max(1, finiteNumber(root.getAttribute("width")) || 1200),
           height: Math.max(1, finiteNumber(root.getAttribute("height")) || 100),
           heading: headingOf("heading"), subheading: headingOf("subheading"), frames };
}

function fitLabel(name, width) {
  const fitting = Math.floor((width - 6) / FLAME_CHAR_WIDTH);
  if (fitting < 3) return "";
  return name.length <= fitting ? name : name.slice(0, fitting - 2) + "..";
}

/// Draws the graph from its data; clicking a frame zooms to it (its callers kept across the full width,
/// dimmed; everything beside it hidden), clicking the root zooms back out.
function showFlameGraph(text) {
  const graph = readFlameGraph(text);
  const svg = svgElement("svg", { viewBox: "0 0 " + graph.width + " " + graph.height, width: "100%", class: "flame" });
  svg.append(svgElement("rect", { x: 0, y: 0, width: "100%", height: "100%", fill: "#fdfaf3" }));
  const heading = svgElement("text", { class: "heading", x: graph.width / 2, y: 24, "text-anchor": "middle" });
  heading.textContent = graph.heading;
  const subheading = svgElement("text", { class: "subheading", x: graph.width / 2, y: 44, "text-anchor": "middle" });
  subheading.textContent = graph.subheading;
  svg.append(heading, subheading);
  const left = Math.min(...graph.frames.map((frame) => frame.x), 10);
  const plotWidth = graph.frames.length ? Math.max(...graph.frames.map((frame) => frame.w)) : graph.width - 20;
  const shown = graph.frames.map((frame) => {
    const group = svgElement("g", { class: "f" });
    const title = svgElement("title");
    title.textContent = frame.title;
    const rect = svgElement("rect", { x: frame.x.toFixed(2), y: frame.y.toFixed(2), width: frame.w.toFixed(2),
                                      height: frame.h.toFixed(2), rx: 2, fill: frame.fill });
    const label = svgElement("text", { x: (frame.x + 3).toFixed(2), y: (frame.y + frame.h - 3.5).toFixed(2) });
    label.textContent = fitLabel(frame.name, frame.w);
    group.append(title, rect, label);
    return { ...frame, group, rect, label };
  });
  const zoom = (target) => {
    const epsilon = 1e-6, scale = plotWidth / Math.max(target.w, epsilon);
    for (const frame of shown) {
      const inside = frame.x >= target.x - epsilon && frame.x + frame.w <= target.x + target.w + epsilon;
      const covers = frame.x <= target.x + epsilon && frame.x + frame.w >= target.x + target.w - epsilon;
      let x, w;
      if (frame.y <= target.y && inside) { x = left + (frame.x - target.x) * scale; w = frame.w * scale; frame.group.style.opacity = ""; }
      else if (frame.y > target.y && covers) { x = left; w = plotWidth; frame.group.style.opacity = "0.6"; }
      else { frame.group.style.display = "none"; continue; }
      frame.group.style.display = "";
      frame.rect.setAttribute("x", x.toFixed(2));
      frame.rect.setAttribute("width", w.toFixed(2));
      frame.label.setAttribute("x", (x + 3).toFixed(2));
      frame.label.textContent = fitLabel(frame.name, w);
    }
  };
  const frames = svgElement("g", { id: "frames" });
  for (const frame of shown) {
    frame.group.addEventListener("click", () => zoom(frame));
    frames.append(frame.group);
  }
  svg.append(frames);
  if (!shown.length) {
    const empty = svgElement("text", { x: graph.width / 2, y: 72, "text-anchor": "middle" });
    empty.textContent = "No samples";
    svg.append(empty);
  }
  byId("flame-graph").replaceChildren(svg);
}

/// On opening the view, or choosing another endpoint: a graph of that endpoint, unless one is on screen.
function maybeRecordOnOpen() {
  if (state.view !== "flame") { flameAutoHost = ""; clearTimeout(flameRepeatTimer); return; }
  renderFlameControls();
  const hostName = state.flame.host;
  if (!hostName || flameRecording || flameAutoHost === hostName) return;
  flameAutoHost = hostName;
  if (!flameShown || flameShown.host !== hostName) recordProfile();
}

function setUpFlameControls() {
  const flame = state.flame;
  byId("flame-controls").addEventListener("submit", (event) => {
    event.preventDefault();
    recordProfile();
  });
  byId("flame-host").addEventListener("change", (event) => {
    flame.host = event.target.value;
    saveFragment();
    maybeRecordOnOpen();
  });
  byId("flame-seconds").addEventListener("change", (event) => { flame.seconds = Number(event.target.value); saveFragment(); });
  byId("flame-hz").addEventListener("change", (event) => { flame.hz = Number(event.target.value); saveFragment(); });
  byId("flame-state").addEventListener("change", (event) => { flame.byState = event.target.checked; saveFragment(); });
  byId("flame-registered").addEventListener("change", (event) => {
    flame.registered = event.target.checked;
    saveFragment();
  });
  byId("flame-repeat").addEventListener("change", (event) => {
    flame.repeat = event.target.checked;
    if (flame.repeat) recordProfile(); else clearTimeout(flameRepeatTimer);
  });
}
