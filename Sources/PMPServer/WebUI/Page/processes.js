// The process table merged across endpoints: ages from each endpoint's own serverTime, a column per attribute,
// filter, sort by any column, and cancel with a message (DELETE /procs/{id}).
/// A row from one entry of `GET /procs` (pm's shape: `attrs` absent when empty, `cancelling` when false).
function processRow(host, entry, serverTime) {
  const attrs = {};
  for (const attribute of Array.isArray(entry.attrs) ? entry.attrs : []) attrs[attribute.name] = attribute.value;
  const procTime = parseTime(entry.procTime);
  const statusTime = parseTime(entry.statusTime);
  return {
    host: host.name, id: String(entry.id), attrs, status: String(entry.status ?? ""),
    cancelling: entry.cancelling === true, parent: entry.parent === undefined || entry.parent === null ? "" : String(entry.parent),
    age: (serverTime - procTime) / 1000, inStatus: (serverTime - statusTime) / 1000,
  };
}

function allProcessRows() {
  return enabledHosts().filter((host) => host.status === "ok").flatMap((host) => host.procs);
}

function rowText(row) {
  return [row.host, row.id, row.status, row.cancelling ? "cancelling" : "",
          ...Object.entries(row.attrs).map(([name, value]) => name + "=" + formatValue(value))].join("\n");
}

function sortValue(row, key) {
  if (key.startsWith("attr:")) return row.attrs[key.slice(5)];
  return row[key];
}

function processColumns(attributeNames) {
  return [
    { key: "host", label: "Host", cell: (row) => el("td", { class: "mono", text: row.host }) },
    { key: "id", label: "Id", cell: (row) => el("td", { class: "mono", text: row.id }) },
    { key: "age", label: "Age", numeric: true,
      cell: (row) => el("td", { class: "num" + (row.age >= 60 ? " age-old" : ""), text: formatDuration(row.age) }) },
    { key: "status", label: "Status", cell: (row) => el("td", { class: "status-cell" }, row.status,
        row.cancelling ? el("span", { class: "badge warn", text: "cancelling" }) : null) },
    { key: "inStatus", label: "In status", numeric: true,
      cell: (row) => el("td", { class: "num", text: formatDuration(row.inStatus) }) },
    ...(allProcessRows().some((row) => row.parent) ? [{ key: "parent", label: "Parent",
      cell: (row) => el("td", { class: "mono", text: row.parent }) }] : []),
    ...attributeNames.map((name) => ({
      key: "attr:" + name, label: name,
      cell: (row) => {
        const value = row.attrs[name];
        const text = value === undefined ? "" : formatValue(value);
        return el("td", { class: "clip" + (typeof value === "number" ? " num" : ""), title: text, text });
      },
    })),
  ];
}

function sortHeader(column, sort, onSort) {
  const active = sort.key === column.key;
  return el("th", {
    class: "sortable", "data-key": column.key, scope: "col",
    "aria-sort": active ? (sort.descending ? "descending" : "ascending") : "none",
    title: "Sort by " + column.label, onclick: () => onSort(column),
  }, column.label, active ? el("span", { class: "arrow", text: sort.descending ? "▼" : "▲" }) : null);
}

function nextSort(sort, column) {
  if (sort.key === column.key) return { key: column.key, descending: !sort.descending };
  return { key: column.key, descending: !!column.numeric };
}

function renderProcesses() {
  const table = byId("procs-table");
  // A person selecting text in the table (an id to copy) keeps it until they are done.
  const selection = window.getSelection();
  if (selection && !selection.isCollapsed && table.contains(selection.anchorNode)) return;

  const rows = allProcessRows();
  const attributeNames = [...new Set(rows.flatMap((row) => Object.keys(row.attrs)))].sort();
  const columns = processColumns(attributeNames);
  const words = filterWords();
  const shown = rows.filter((row) => matchesFilter(rowText(row), words));
  const { key, descending } = state.sort;
  sortRows(shown, (row) => sortValue(row, key), descending,
           (a, b) => compareValues(a.host, b.host) || compareValues(a.id, b.id));

  table.tHead.replaceChildren(el("tr", {},
    columns.map((column) => sortHeader(column, state.sort, (chosen) => {
      state.sort = nextSort(state.sort, chosen);
      saveFragment();
      render();
    })),
    el("th", { class: "actions", scope: "col" })));

  const selected = state.selection;
  table.tBodies[0].replaceChildren(...shown.map((row) => {
    const isSelected = !!selected && selected.host === row.host && selected.id === row.id;
    return el("tr", {
      class: (isSelected ? "selected " : "") + (row.cancelling ? "cancelling" : ""),
      "data-host": row.host, "data-id": row.id,
      onclick: () => selectProcess(row.host, row.id),
    },
    columns.map((column) => column.cell(row)),
    el("td", { class: "actions" },
      el("button", { type: "button", class: "cancel", disabled: row.cancelling,
                     title: row.cancelling ? "Cancel already requested" : "Cancel this process",
                     text: row.cancelling ? "Cancelling…" : "Cancel",
                     onclick: (event) => { event.stopPropagation(); openCancelDialog(row); } })));
  }));

  const enabled = enabledHosts();
  let empty = "";
  if (!state.hosts.length) empty = "No endpoint: add one above (host:port of a process serving swift-pmp).";
  else if (!enabled.length) empty = "Every endpoint is disabled.";
  else if (!enabled.some((host) => host.status === "ok")) {
    empty = enabled.some((host) => host.status === "pending") ? "Asking the endpoints…" : "No endpoint answers.";
  } else if (!rows.length) empty = "Nothing in flight.";
  else if (!shown.length) empty = "No process matches the filter (" + plural(rows.length, "process", "processes") + " hidden).";
  else if (shown.length < rows.length) empty = (rows.length - shown.length) + " more hidden by the filter.";
  byId("procs-empty").textContent = empty;
}

// ---- cancel

let cancelTarget = null;

function openCancelDialog(row) {
  cancelTarget = row;
  const attrs = Object.entries(row.attrs).map(([name, value]) => name + "=" + formatValue(value)).join("  ");
  byId("cancel-what").replaceChildren(
    el("span", { class: "mono", text: row.id }), " on ", el("span", { class: "mono", text: row.host }),
    " — " + row.status + " for " + formatDuration(row.inStatus) + ", started " + formatDuration(row.age) + " ago",
    attrs ? el("br") : null, attrs ? el("span", { class: "mono", text: attrs }) : null);
  byId("cancel-message").value = "";
  byId("cancel-error").textContent = "";
  byId("cancel-confirm").disabled = false;
  byId("cancel-dialog").showModal();
  byId("cancel-message").focus();
}

async function confirmCancel() {
  const row = cancelTarget;
  const host = row && hostNamed(row.host);
  if (!host) { byId("cancel-dialog").close(); return; }
  const message = byId("cancel-message").value;
  byId("cancel-confirm").disabled = true;
  try {
    await request(host, "/procs/" + encodeURIComponent(row.id),
                  { method: "DELETE", body: JSON.stringify({ message }) });
    byId("cancel-dialog").close();
    showNotice("Cancel requested: " + row.id + " on " + row.host + (message ? " (“" + message + "”)" : ""));
    pollProcesses(host);
    pollHistory();
  } catch (error) {
    byId("cancel-error").textContent = "Not cancelled: " + describeError(error);
    byId("cancel-confirm").disabled = false;
  }
}

function setUpCancelDialog() {
  byId("cancel-form").addEventListener("submit", (event) => {
    event.preventDefault();
    confirmCancel();
  });
  byId("cancel-keep").addEventListener("click", () => byId("cancel-dialog").close());
}
