// A process's history beside the table: its statuses in order with how long each lasted, and the time spent
// in each status added up.
let historyView = null;  // { key, lines, serverTime, error }

function selectionKey(selection) { return selection ? selection.host + "\n" + selection.id : ""; }

function selectProcess(hostName, id) {
  const same = state.selection && state.selection.host === hostName && state.selection.id === id;
  state.selection = same ? null : { host: hostName, id };
  historyView = null;
  saveFragment();
  render();
  if (state.selection) pollHistory();
}

function pollHistory() {
  const selection = state.selection;
  const host = selection && hostNamed(selection.host);
  if (!host || !host.enabled) return;
  const key = selectionKey(selection);
  fetchFrom(host, "history", "/procs/" + encodeURIComponent(selection.id) + "/history", (body) => {
    if (selectionKey(state.selection) !== key) return;
    historyView = { key, lines: Array.isArray(body.history) ? body.history : [],
                    serverTime: parseTime(body.serverTime), error: "" };
  }, (error) => {
    if (selectionKey(state.selection) !== key) return;
    historyView = { key, lines: historyView && historyView.key === key ? historyView.lines : [],
                    serverTime: NaN, error: describeError(error) };
  });
}

/// The statuses with their durations; `inFlight` lets the last one run up to the server's time.
function historySpans(lines, serverTime, inFlight) {
  return lines.map((line, index) => {
    const start = parseTime(line.ts);
    const end = index + 1 < lines.length ? parseTime(lines[index + 1].ts) : (inFlight ? serverTime : NaN);
    return { status: String(line.status ?? ""), start, duration: (end - start) / 1000,
             current: inFlight && index === lines.length - 1 };
  });
}

function timeByStatus(spans) {
  const totals = new Map();
  for (const span of spans) {
    if (!isFinite(span.duration)) continue;
    totals.set(span.status, (totals.get(span.status) || 0) + Math.max(0, span.duration));
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}

function renderHistory() {
  const panel = byId("history");
  const selection = state.selection;
  if (!selection) { panel.hidden = true; panel.replaceChildren(); return; }
  panel.hidden = false;
  const host = hostNamed(selection.host);
  const row = host && host.procs.find((candidate) => candidate.id === selection.id);
  const view = historyView && historyView.key === selectionKey(selection) ? historyView : null;

  const parts = [el("h2", {}, "History of ", el("span", { class: "mono", text: selection.id }),
                    el("button", { type: "button", class: "link close", title: "Close", text: "✕",
                                   onclick: () => selectProcess(selection.host, selection.id) }))];
  let where = "on " + selection.host;
  if (row) where += " · " + row.status + (row.cancelling ? " (cancelling)" : "") + " · started "
    + formatDuration(row.age) + " ago";
  else if (host && host.status === "ok") where += " · no longer in flight";
  parts.push(el("p", { class: "sub", text: where }));
  if (row && Object.keys(row.attrs).length) {
    parts.push(el("dl", { class: "attrs" }, Object.entries(row.attrs).sort((a, b) => compareValues(a[0], b[0])).map(([name, value]) =>
      [el("dt", { text: name }), el("dd", { text: formatValue(value) })])));
  }
  if (row && !row.cancelling) {
    parts.push(el("p", {}, el("button", { type: "button", class: "cancel", text: "Cancel…",
                                            onclick: () => openCancelDialog(row) })));
  }
  if (view && view.error) parts.push(el("p", { class: "error-text", text: view.error }));
  if (!view) {
    parts.push(el("p", { class: "sub", text: "Asking " + selection.host + "…" }));
  } else if (view.lines.length) {
    const spans = historySpans(view.lines, view.serverTime, !!row);
    const totals = timeByStatus(spans);
    const whole = totals.reduce((sum, [, seconds]) => sum + seconds, 0);
    parts.push(el("h3", { text: "Time in each status" }));
    const bar = el("div", { class: "stacked", "aria-hidden": "true" });
    for (const [status, seconds] of totals) {
      const piece = swatch(statusColor(status), "");
      piece.style.width = (whole > 0 ? 100 * seconds / whole : 0) + "%";
      piece.title = status + ": " + formatDuration(seconds);
      bar.append(piece);
    }
    parts.push(bar, el("ul", { class: "legend time-by-status" }, totals.map(([status, seconds]) =>
      el("li", { "data-status": status },
        swatch(statusColor(status)),
        el("span", { class: "label" + (/^\[/.test(status) ? " marker" : ""), text: status, title: status }),
        el("span", { class: "value", text: formatDuration(seconds) }),
        el("span", { class: "share", text: whole > 0 ? Math.round(100 * seconds / whole) + "%" : "" })))));

    parts.push(el("h3", { text: "Statuses" }));
    const first = spans[0].start;
    parts.push(el("table", { class: "timeline" }, el("tbody", {}, spans.map((span) =>
      el("tr", { class: span.current ? "current" : "", title: new Date(span.start).toISOString() },
        el("td", { class: "num offset", text: "+" + formatDuration((span.start - first) / 1000) }),
        el("td", { class: /^\[/.test(span.status) ? "marker" : "", text: span.status }),
        el("td", { class: "num duration",
                   text: isFinite(span.duration) ? formatDuration(span.duration) + (span.current ? " so far" : "")
                                                : "final" }))))));
  } else if (!view.error) {
    parts.push(el("p", { class: "sub", text: "No statuses recorded." }));
  }
  panel.replaceChildren(...parts);
}
