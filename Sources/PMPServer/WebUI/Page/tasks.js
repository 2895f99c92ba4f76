// Live Swift tasks from GET /stacks?format=json&group=1: a line per endpoint with its tasks by state, and for
// the chosen endpoint the groups of tasks suspended at the same place (largest first); a group opens to its
// whole async backtrace and its tasks.
const MAX_TASK_GROUPS = 300;
const TASK_STATE_LABELS = {
  running: "running", enqueued: "enqueued", continuation: "on a continuation", task: "awaiting a task",
  group: "in a task group", sleeping: "sleeping", "not started": "not started", suspended: "suspended",
};

function taskStateLabel(kind) { return TASK_STATE_LABELS[kind] || String(kind); }

function pollTasks(host) {
  return fetchFrom(host, "tasks", "/stacks?format=json&group=1", (body) => {
    host.tasks = { pid: body.pid, time: parseTime(body.time),
                   summary: body.taskSummary && typeof body.taskSummary === "object" ? body.taskSummary : null,
                   groups: Array.isArray(body.taskGroups) ? body.taskGroups : [] };
    host.tasksError = "";
  }, (error) => {
    host.tasksError = describeError(error);
  });
}

function taskCounts(groups) {
  const counts = new Map();
  for (const group of groups) {
    const kind = String(group.stateKind ?? "?");
    counts.set(kind, (counts.get(kind) || 0) + (Number(group.count) || 0));
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || compareValues(a[0], b[0]));
}

function tasksHost() {
  const chosen = hostNamed(state.tasksHost);
  if (chosen && chosen.enabled) return chosen;
  return enabledHosts().find((host) => host.tasks) || enabledHosts()[0];
}

function groupFrames(group) { return Array.isArray(group.frames) ? group.frames : []; }
function groupTasks(group) { return Array.isArray(group.tasks) ? group.tasks : []; }

function renderTasks() {
  const view = byId("view-tasks");
  const selection = window.getSelection();
  if (selection && !selection.isCollapsed && view.contains(selection.anchorNode)) return;
  const shownHost = tasksHost();

  byId("tasks-summary").replaceChildren(
    el("thead", {}, el("tr", {}, ["Endpoint", "PID", "Tasks", "Running", "Suspended", "By state", "Found"]
      .map((label) => el("th", { scope: "col", text: label })))),
    el("tbody", {}, enabledHosts().map((host) => {
      const select = () => { state.tasksHost = host.name; saveFragment(); render(); };
      const attributes = { class: host === shownHost ? "selected" : "", "data-host": host.name, onclick: select };
      if (!host.tasks) {
        const text = host.tasksError || (host.status === "error" ? host.error : "asking…");
        return el("tr", attributes, el("td", { class: "mono", text: host.name }),
                  el("td", { colspan: 6, class: host.tasksError || host.status === "error" ? "error-text" : "", text }));
      }
      const counts = taskCounts(host.tasks.groups);
      const total = counts.reduce((sum, [, count]) => sum + count, 0);
      const running = counts.filter(([kind]) => kind === "running").reduce((sum, [, count]) => sum + count, 0);
      const summary = host.tasks.summary;
      const found = summary ? String(summary.method ?? "") + (summary.incomplete === true ? ", incomplete" : "")
        + (summary.note ? ": " + String(summary.note) : "") : "not looked for";
      return el("tr", attributes,
        el("td", { class: "mono", text: host.name }),
        el("td", { class: "num", text: host.tasks.pid }),
        el("td", { class: "num", text: total }),
        el("td", { class: "num", text: running }),
        el("td", { class: "num", text: total - running }),
        el("td", { class: "bar-cell", title: counts.map(([kind, count]) => taskStateLabel(kind) + ": " + count).join("\n") },
           reasonBar(counts.map(([kind, count]) => [taskStateLabel(kind), count]), Math.max(1, total))),
        el("td", { class: "clip", title: found, text: found }));
    })));

  const detail = byId("tasks-detail");
  if (!shownHost) { detail.replaceChildren(el("p", { class: "empty", text: "No endpoint to ask." })); return; }
  if (!shownHost.tasks) {
    detail.replaceChildren(el("p", { class: "empty", text: shownHost.tasksError || "Asking " + shownHost.name + "…" }));
    return;
  }
  const groups = shownHost.tasks.groups;
  const counts = taskCounts(groups);
  if (state.taskStateFilter && !counts.some(([kind]) => kind === state.taskStateFilter)) state.taskStateFilter = "";
  const chip = (kind, count, label) => el("button", {
    type: "button", class: "chip" + (state.taskStateFilter === kind ? " active" : ""), "data-state": kind,
    onclick: () => { state.taskStateFilter = state.taskStateFilter === kind ? "" : kind; render(); },
  }, kind ? swatch(reasonColor(taskStateLabel(kind))) : null, label, el("span", { class: "n", text: count }));

  const words = filterWords();
  const shown = groups.filter((group) =>
    (!state.taskStateFilter || group.stateKind === state.taskStateFilter)
    && matchesFilter([String(group.stateKind ?? ""), ...groupFrames(group).map(frameName),
                      ...groupTasks(group).map((task) => String(task.id) + " " + String(task.name ?? "") + " " + String(task.state ?? ""))]
                     .join("\n"), words));
  const rows = [];
  shown.slice(0, MAX_TASK_GROUPS).forEach((group, index) => {
    const frames = groupFrames(group);
    const key = shownHost.name + "\n" + String(group.stateKind) + "\n" + frames.map(frameName).join("\n");
    const expanded = state.expandedTaskGroups.has(key);
    const longest = Math.max(-1, ...groupTasks(group).map((task) => typeof task.suspendedFor === "number" ? task.suspendedFor : -1));
    rows.push(el("tr", {
      class: "task-group", "data-index": index, "aria-expanded": expanded ? "true" : "false",
      onclick: () => {
        if (state.expandedTaskGroups.has(key)) state.expandedTaskGroups.delete(key); else state.expandedTaskGroups.add(key);
        render();
      },
    },
    el("td", { class: "num", text: group.count }),
    el("td", {}, el("span", { class: "reason" }, swatch(reasonColor(taskStateLabel(group.stateKind))), taskStateLabel(group.stateKind))),
    el("td", { class: "num", text: longest >= 0 ? formatDuration(longest) : "–" }),
    el("td", { class: "frames", title: frames.map(frameLine).join("\n"),
               text: frames.slice(0, 4).map(frameName).join(" ← ") + (frames.length > 4 ? " ← …" : "") })));
    if (expanded) {
      const tasks = groupTasks(group).map((task) => "task " + String(task.id) + (task.name ? " " + JSON.stringify(String(task.name)) : "")
        + " [" + String(task.state ?? "?") + (typeof task.suspendedFor === "number" ? ", " + formatDuration(task.suspendedFor) : "") + "]");
      rows.push(el("tr", { class: "stack" }, el("td", { colspan: 4 },
        el("pre", { class: "async-backtrace", text: frames.map(frameLine).join("\n")
                                                     + (group.truncated === true ? "\n… cut at the maximum depth" : "") }),
        el("pre", { class: "task-list", text: tasks.join("\n") }))));
    }
  });
  const summary = shownHost.tasks.summary;
  detail.replaceChildren(...[
    el("h2", { class: "detail-title" }, "Tasks of ", el("span", { class: "mono", text: shownHost.name }),
       el("span", { class: "sub", text: "  pid " + shownHost.tasks.pid + " · captured " + formatClock(shownHost.tasks.time)
         + (summary && typeof summary.seconds === "number" ? " · search took " + formatDuration(summary.seconds) : "") })),
    summary && summary.note ? el("p", { class: "sub", text: String(summary.note) }) : null,
    el("div", { class: "chips" }, chip("", counts.reduce((sum, [, count]) => sum + count, 0), "all"),
       counts.map(([kind, count]) => chip(kind, count, taskStateLabel(kind)))),
    el("table", { id: "tasks-table", class: "grid" },
       el("thead", {}, el("tr", {}, ["Tasks", "State", "Longest suspended", "Innermost frames (async backtrace)"]
         .map((label) => el("th", { scope: "col", text: label })))),
       el("tbody", {}, rows)),
    shown.length > MAX_TASK_GROUPS
      ? el("p", { class: "empty", text: (shown.length - MAX_TASK_GROUPS) + " more groups not listed: filter to see them." })
      : null,
    !shown.length ? el("p", { class: "empty", text: summary ? "No task matches." : "This endpoint does not list tasks." }) : null,
  ].filter(Boolean));
}
