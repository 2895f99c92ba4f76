// A process's history beside the table: its statuses in order with how long each lasted, the time spent
// in each status added up, and where its Swift task is waiting now (the whole async backtrace).
let historyView = null;  // { key, lines, serverTime, task, error }

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
  fetchFrom(host, "history", "/procs/" + encodeURIComponent(selection.id) + "/history?tasks=1", (body) => {
    if (selectionKey(state.selection) !== key) return;
    historyView = { key, lines: Array.isArray(body.history) ? body.history : [],
                    serverTime: parseTime(body.serverTime),
                    task: body.task && typeof body.task === "object" ? body.task : null, error: "" };
  }, (error) => {
    if (selectionKey(state.selection) !== key) return;
    historyView = { key, lines: historyView && historyView.key === key ? historyView.lines : [],
                    serverTime: NaN, task: null, error: describeError(error) };
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
  if (view && view.task) parts.push(...taskSection(view.task));
  panel.replaceChildren(...parts);
}

/// Where the entry's task is: its state, how long, and its async backtrace from the suspension point out.
function taskSection(task) {
  const frames = Array.isArray(task.frames) ? task.frames : [];
  let summary = "Task " + String(task.id ?? "?") + (task.name ? " \u201c" + String(task.name) + "\u201d" : "")
    + " · " + String(task.state ?? "?");
  if (typeof task.suspendedFor === "number") summary += " · for at least " + formatDuration(task.suspendedFor);
  if (task.cancelled === true) summary += " · cancelled";
  return [
    el("h3", { text: "Waiting in" }),
    el("p", { class: "sub task-summary", text: summary }),
    el("ol", { class: "frames async-backtrace", start: "0" }, frames.map((frame) => {
      const where = frame && frame.file ? String(frame.file) + (frame.line ? ":" + frame.line : "") : "";
      return el("li", { class: "mono", title: where },
        el("span", { class: "function", text: String((frame && frame.function) ?? "?") }),
        where ? el("span", { class: "where", text: " at " + where }) : null);
    })),
    task.truncated === true ? el("p", { class: "sub", text: "… more frames than the capture keeps" }) : null,
  ].filter(Boolean);
}
