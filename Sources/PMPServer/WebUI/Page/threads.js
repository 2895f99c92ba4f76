// Live thread states from GET /stacks?format=json: a line per endpoint with its threads by wait reason, and
// for the chosen endpoint every thread with its state, wait reason, blocked time and top frames.
const MAX_THREAD_ROWS = 600;

function pollStacks(host) {
  return fetchFrom(host, "stacks", "/stacks?format=json", (body) => {
    host.stacks = { pid: body.pid, time: parseTime(body.time), elapsed: body.elapsed,
                    threadCount: body.threadCount, captured: body.captured,
                    threads: Array.isArray(body.threads) ? body.threads : [],
                    tasks: Array.isArray(body.tasks) ? body.tasks : [] };
    host.stacksError = "";
  }, (error) => {
    host.stacksError = describeError(error);
  });
}

function isBlockedReason(reason) {
  return !["running", "idle", "idle (main queue)", "unknown", "no answer"].includes(reason);
}

/// `held by thread 1234 "lock-holder"` for a thread waiting on a lock whose holder is known, else "".
function heldByText(thread) {
  const holder = thread.heldBy;
  if (!holder) return "";
  return "held by thread " + holder.tid + (holder.name === null || holder.name === undefined
                                            ? "" : " " + JSON.stringify(String(holder.name)));
}

function reasonCounts(threads) {
  const counts = new Map();
  for (const thread of threads) counts.set(thread.waitReason, (counts.get(thread.waitReason) || 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || compareValues(a[0], b[0]));
}

function frameName(frame) {
  if (frame.function) return frame.function;
  return (frame.image || "?") + "+" + frame.address;
}

function frameLine(frame, index) {
  const where = frame.file ? " (" + frame.file + (frame.line ? ":" + frame.line : "") + ")" : "";
  return "#" + index + " " + frameName(frame) + where + (frame.image ? "  " + frame.image : "")
    + (frame.inlined ? "  [inlined]" : "");
}

function topFrames(thread) {
  if (thread.failure) return "(no stack: " + thread.failure + ")";
  return thread.frames.slice(0, 4).map(frameName).join(" ← ") + (thread.frames.length > 4 ? " ← …" : "");
}

function threadsHost() {
  const chosen = hostNamed(state.threadsHost);
  if (chosen && chosen.enabled) return chosen;
  return enabledHosts().find((host) => host.stacks) || enabledHosts()[0];
}

function reasonBar(counts, total) {
  const bar = el("div", { class: "stacked" });
  for (const [reason, count] of counts) {
    const piece = swatch(reasonColor(reason), "");
    piece.style.width = (100 * count / total) + "%";
    piece.title = reason + ": " + count;
    bar.append(piece);
  }
  return bar;
}

/// The endpoint's own pages, for reading a whole dump or feeding other tools (they open without the token).
function rawLinks(host) {
  const links = [
    ["text dump", "/stacks?format=text"], ["grouped", "/stacks?format=text&group=1"],
    ["JSON", "/stacks?format=json"], ["Go-style", "/debug/pprof/goroutine?debug=2"],
    ["folded", "/stacks?format=folded"], ["all endpoints", "/debug/pprof"],
  ];
  return el("p", { class: "raw-links" }, "Open:", links.map(([label, path]) =>
    el("a", { href: host.base + path, target: "_blank", rel: "noopener noreferrer", text: label })));
}

function renderThreads() {
  const view = byId("view-threads");
  const selection = window.getSelection();
  if (selection && !selection.isCollapsed && view.contains(selection.anchorNode)) return;
  const shownHost = threadsHost();

  const summary = byId("threads-summary");
  summary.replaceChildren(
    el("thead", {}, el("tr", {}, ["Endpoint", "PID", "Threads", "Running", "Blocked", "Longest blocked",
                                  "By wait reason"].map((label) => el("th", { scope: "col", text: label })))),
    el("tbody", {}, enabledHosts().map((host) => {
      const select = () => {
        state.threadsHost = host.name;
        saveFragment();
        render();
      };
      const attributes = { class: host === shownHost ? "selected" : "", "data-host": host.name, onclick: select };
      if (!host.stacks) {
        const text = host.stacksError || (host.status === "error" ? host.error : "asking…");
        return el("tr", attributes, el("td", { class: "mono", text: host.name }),
                  el("td", { colspan: 6, class: host.stacksError || host.status === "error" ? "error-text" : "",
                             text }));
      }
      const threads = host.stacks.threads;
      const counts = reasonCounts(threads);
      const blocked = threads.filter((thread) => isBlockedReason(thread.waitReason));
      const longest = Math.max(-1, ...threads.map((thread) => thread.blockedFor ?? -1));
      return el("tr", attributes,
        el("td", { class: "mono", text: host.name }),
        el("td", { class: "num", text: host.stacks.pid }),
        el("td", { class: "num", text: threads.length }),
        el("td", { class: "num", text: threads.filter((thread) => thread.waitReason === "running").length }),
        el("td", { class: "num", text: blocked.length }),
        el("td", { class: "num", text: longest >= 0 ? formatDuration(longest) : "–" }),
        el("td", { class: "bar-cell", title: counts.map(([reason, count]) => reason + ": " + count).join("\n") },
           reasonBar(counts, Math.max(1, threads.length)),
           host.stacksError ? el("div", { class: "error-text", text: host.stacksError }) : null));
    })));

  const detail = byId("threads-detail");
  if (!shownHost) { detail.replaceChildren(el("p", { class: "empty", text: "No endpoint to ask." })); return; }
  if (!shownHost.stacks) {
    detail.replaceChildren(el("p", { class: "empty", text: shownHost.stacksError || "Asking " + shownHost.name + "…" }));
    return;
  }
  const stacks = shownHost.stacks;
  const counts = reasonCounts(stacks.threads);
  if (state.reasonFilter && !counts.some(([reason]) => reason === state.reasonFilter)) state.reasonFilter = "";
  const chip = (reason, count, label) => el("button", {
    type: "button", class: "chip" + (state.reasonFilter === reason ? " active" : ""), "data-reason": reason,
    onclick: () => { state.reasonFilter = state.reasonFilter === reason ? "" : reason; render(); },
  }, reason ? swatch(reasonColor(reason)) : null, label, el("span", { class: "n", text: count }));

  const words = filterWords();
  const threads = stacks.threads.filter((thread) =>
    (!state.reasonFilter || thread.waitReason === state.reasonFilter)
    && matchesFilter([thread.tid, thread.name, thread.state, thread.waitReason, thread.failure || "",
                      heldByText(thread),
                      ...thread.frames.map(frameName)].join("\n"), words));
  const columns = [
    { key: "tid", label: "TID", numeric: true, value: (t) => t.tid },
    { key: "name", label: "Name", value: (t) => t.name },
    { key: "state", label: "State", value: (t) => t.state },
    { key: "waitReason", label: "Wait reason", value: (t) => t.waitReason },
    { key: "blockedFor", label: "Blocked for", numeric: true, value: (t) => t.blockedFor },
    { key: "frames", label: "Top frames (leaf first)", value: (t) => topFrames(t) },
  ];
  const sort = state.threadSort;
  const column = columns.find((candidate) => candidate.key === sort.key) || columns[4];
  sortRows(threads, column.value, sort.descending, (a, b) => a.tid - b.tid);

  const rows = [];
  for (const thread of threads.slice(0, MAX_THREAD_ROWS)) {
    const key = shownHost.name + "\n" + thread.tid;
    const expanded = state.expandedThreads.has(key);
    rows.push(el("tr", {
      class: "thread", "data-tid": thread.tid, "aria-expanded": expanded ? "true" : "false",
      onclick: () => {
        if (state.expandedThreads.has(key)) state.expandedThreads.delete(key); else state.expandedThreads.add(key);
        render();
      },
    },
    el("td", { class: "num mono", text: thread.tid }),
    el("td", { class: "mono", text: thread.name }),
    el("td", { class: "mono", text: thread.state, title: "kernel state" }),
    el("td", {}, el("span", { class: "reason" }, swatch(reasonColor(thread.waitReason)), thread.waitReason),
       thread.heldBy ? el("span", { class: "held-by mono", text: ", " + heldByText(thread) }) : null),
    el("td", { class: "num", text: thread.blockedFor === null || thread.blockedFor === undefined
                                    ? "–" : formatDuration(thread.blockedFor) }),
    el("td", { class: "frames", title: thread.frames.map(frameLine).join("\n"), text: topFrames(thread) })));
    if (expanded) {
      // A thread running a Swift task: its stack goes on with the task's async frames, out to the task's entry.
      const task = thread.task === null || thread.task === undefined ? null
        : stacks.tasks.find((candidate) => candidate.id === thread.task);
      const asyncFrames = task && Array.isArray(task.frames) ? task.frames : [];
      rows.push(el("tr", { class: "stack" }, el("td", { colspan: 6 },
        el("pre", { text: thread.failure ? "no stack: " + thread.failure
                                         : thread.frames.map(frameLine).join("\n")
                                           + (thread.truncated ? "\n… cut at the maximum depth" : "") }),
        task ? el("pre", { class: "async-continuation",
                           text: "running task " + String(task.id) + (task.name ? " " + JSON.stringify(String(task.name)) : "")
                                 + ", its async frames:\n" + asyncFrames.map(frameLine).join("\n") }) : null)));
    }
  }

  const answered = stacks.captured !== undefined && stacks.captured !== stacks.threadCount
    ? " · " + stacks.captured + " of " + stacks.threadCount + " answered" : "";
  detail.replaceChildren(...[
    el("h2", { class: "detail-title" }, "Threads of ", el("span", { class: "mono", text: shownHost.name }),
       el("span", { class: "sub", text: "  pid " + stacks.pid + " · captured " + formatClock(stacks.time)
                                         + " in " + formatDuration(stacks.elapsed) + answered })),
    rawLinks(shownHost),
    el("div", { class: "chips" }, chip("", stacks.threads.length, "all"),
       counts.map(([reason, count]) => chip(reason, count, reason))),
    el("table", { id: "threads-table", class: "grid" },
       el("thead", {}, el("tr", {}, columns.map((candidate) => sortHeader(candidate, sort, (chosen) => {
         state.threadSort = nextSort(state.threadSort, chosen);
         render();
       })))),
       el("tbody", {}, rows)),
    threads.length > MAX_THREAD_ROWS
      ? el("p", { class: "empty", text: (threads.length - MAX_THREAD_ROWS) + " more threads not listed: filter to see them." })
      : null,
    !threads.length ? el("p", { class: "empty", text: "No thread matches." }) : null].filter(Boolean));
}
