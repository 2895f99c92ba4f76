/// The web UI's style sheet: a light, dense layout made for a 1280×800 window and up, system fonts only.
enum WebUIStyle {
    static let css = #"""
        :root {
          --bg: #f4f6f8; --panel: #fff; --border: #d9dee4; --line: #eceff2; --text: #1c2430; --muted: #677282;
          --accent: #2463d1; --accent-soft: #e6eefc; --danger: #c4312b; --danger-soft: #fdecea; --ok: #23924a;
          --warn: #b86e00; --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
        }
        * { box-sizing: border-box; }
        html, body { height: 100%; }
        body { margin: 0; display: flex; flex-direction: column; background: var(--bg); color: var(--text);
               font: 13px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
        button, input, select { font: inherit; color: inherit; }
        button { background: var(--panel); border: 1px solid var(--border); border-radius: 5px; padding: 3px 10px;
                 cursor: pointer; }
        button:hover { border-color: #aab3bf; }
        button:disabled { opacity: .55; cursor: default; }
        button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
        button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
        button.link { border: none; background: none; padding: 0 4px; color: var(--accent); }
        input[type=text], input[type=search], input[type=password], select {
          background: var(--panel); border: 1px solid var(--border); border-radius: 5px; padding: 3px 7px; }
        input:focus, select:focus, button:focus-visible { outline: 2px solid var(--accent-soft); border-color: var(--accent); }
        code { font-family: var(--mono); font-size: 12px; background: var(--line); padding: 0 3px; border-radius: 3px; }
        .grow { flex: 1; }
        .control { display: inline-flex; align-items: center; gap: 5px; color: var(--muted); white-space: nowrap; }
        .control select, .control input { color: var(--text); }

        .topbar { display: flex; align-items: center; gap: 12px; padding: 0 16px; height: 44px; background: #18202c;
                  color: #e8edf3; }
        .topbar .control { color: #b7c1cd; }
        .topbar button { background: #2a3442; border-color: #3a4656; color: #e8edf3; }
        .topbar select { background: #2a3442; border-color: #3a4656; color: #e8edf3; }
        .brand { font-weight: 650; letter-spacing: .2px; font-size: 15px; }
        .tabs { display: flex; gap: 2px; margin-left: 12px; height: 100%; }
        .tabs a { display: flex; align-items: center; padding: 0 14px; color: #b7c1cd; text-decoration: none;
                  border-bottom: 3px solid transparent; }
        .tabs a:hover { color: #fff; }
        .tabs a.active { color: #fff; border-bottom-color: #5b9bff; }
        #token-button.has-token { border-color: #5b9bff; }
        #token-button.wanted { background: #b86e00; border-color: #f0a830; color: #fff; }
        .host-errors .hint { font-weight: 600; }

        .hostbar { display: flex; align-items: center; flex-wrap: wrap; gap: 8px; padding: 8px 16px;
                   background: var(--panel); border-bottom: 1px solid var(--border); }
        .hosts { display: flex; flex-wrap: wrap; gap: 6px; margin: 0; padding: 0; list-style: none; }
        .host { display: inline-flex; align-items: center; gap: 6px; padding: 2px 4px 2px 8px; border: 1px solid var(--border);
                border-radius: 14px; background: #fafbfc; }
        .host label { display: inline-flex; align-items: center; gap: 6px; cursor: pointer; }
        .host input { margin: 0; }
        .host .name { font-family: var(--mono); font-size: 12px; }
        .host .count { color: var(--muted); font-size: 12px; }
        .host .remove { border: none; background: none; padding: 0 6px; color: var(--muted); font-size: 15px; line-height: 1; }
        .host .remove:hover { color: var(--danger); }
        .dot { width: 9px; height: 9px; border-radius: 50%; background: #c0c7d0; flex: none; }
        .host.ok .dot { background: var(--ok); }
        .host.error { border-color: #eab2ae; background: var(--danger-soft); }
        .host.error .dot { background: var(--danger); }
        .host.pending .dot { background: #e0b44c; }
        .host.off { opacity: .6; }
        .host.off .name { text-decoration: line-through; }
        .add-host input { width: 170px; font-family: var(--mono); font-size: 12px; }
        #filter { width: 300px; }
        .host-errors { padding: 0 16px; background: var(--danger-soft); color: var(--danger); }
        .host-errors:empty { display: none; }
        .host-errors div { padding: 4px 0; }
        .host-errors b { font-family: var(--mono); font-weight: 600; }

        main { flex: 1; min-height: 0; display: flex; }
        .view { flex: 1; min-width: 0; overflow: auto; padding: 12px 16px; }
        .view[hidden] { display: none; }
        .view-procs { display: flex; gap: 12px; align-items: flex-start; overflow: hidden; }
        .table-pane { flex: 1; min-width: 0; max-height: 100%; overflow: auto; border-radius: 6px; }
        .table-pane .grid th { top: 0; }
        .empty { color: var(--muted); padding: 16px 4px; margin: 0; }
        .empty:empty { display: none; }

        table.grid { width: 100%; border-collapse: separate; border-spacing: 0; background: var(--panel);
                     border: 1px solid var(--border); border-radius: 6px; }
        .grid th, .grid td { padding: 4px 8px; text-align: left; border-bottom: 1px solid var(--line); white-space: nowrap; }
        .grid th { position: sticky; top: -12px; background: #f0f3f6; font-weight: 600; color: #3d4756; z-index: 1;
                   user-select: none; border-bottom: 1px solid var(--border); }
        .grid th.sortable { cursor: pointer; }
        .grid th.sortable:hover { color: var(--accent); }
        .grid th .arrow { color: var(--accent); margin-left: 3px; }
        .grid tbody tr:last-child td { border-bottom: none; }
        .grid tbody tr:hover { background: #f6f9ff; }
        .grid td.num { text-align: right; font-variant-numeric: tabular-nums; }
        .grid td.mono, .mono { font-family: var(--mono); font-size: 12px; }
        .grid td.clip { max-width: 220px; overflow: hidden; text-overflow: ellipsis; }
        .grid td.actions { text-align: right; width: 1%; }
        #procs-table tbody tr { cursor: pointer; }
        #procs-table tbody tr.selected { background: var(--accent-soft); }
        #procs-table tbody tr.cancelling td { color: var(--warn); }
        .badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px; background: var(--line);
                 color: var(--muted); margin-left: 6px; }
        .badge.warn { background: #fff1d6; color: var(--warn); }
        .status-cell { font-weight: 550; }
        .age-old { color: var(--danger); font-weight: 600; }

        .side-panel { width: 330px; flex: none; background: var(--panel); border: 1px solid var(--border);
                      border-radius: 6px; padding: 12px 14px; position: sticky; top: 0; max-height: 100%; overflow: auto; }
        .side-panel h2 { font-size: 14px; margin: 0 0 2px; display: flex; align-items: center; gap: 8px; }
        .side-panel h2 .mono { font-size: 13px; overflow: hidden; text-overflow: ellipsis; }
        .side-panel h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .5px; color: var(--muted);
                         margin: 14px 0 6px; }
        .side-panel .sub { color: var(--muted); margin: 0 0 8px; }
        .side-panel .close { margin-left: auto; }
        .attrs { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0; }
        .attrs dt { color: var(--muted); }
        .attrs dd { margin: 0; font-family: var(--mono); font-size: 12px; word-break: break-all; }
        .stacked { display: flex; height: 14px; border-radius: 4px; overflow: hidden; background: var(--line); }
        .stacked span { display: block; height: 100%; min-width: 1px; }
        .legend { list-style: none; margin: 8px 0 0; padding: 0; }
        .legend li { display: flex; align-items: center; gap: 8px; padding: 1px 0; }
        .legend .swatch { width: 10px; height: 10px; border-radius: 2px; flex: none; }
        .legend .label { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
        .legend .value { font-variant-numeric: tabular-nums; }
        .legend .share { color: var(--muted); width: 42px; text-align: right; font-variant-numeric: tabular-nums; }
        table.timeline { width: 100%; border-collapse: collapse; }
        .timeline td { padding: 2px 4px; border-bottom: 1px solid var(--line); vertical-align: top; }
        .timeline td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        .timeline td.offset { color: var(--muted); }
        .timeline tr.current td { font-weight: 600; }
        .marker { font-style: italic; color: var(--muted); }
        .error-text { color: var(--danger); margin: 6px 0; }
        .error-text:empty { display: none; }

        .summary { margin-bottom: 14px; }
        .summary tbody tr { cursor: pointer; }
        .summary tbody tr.selected { background: var(--accent-soft); }
        .summary .bar-cell { width: 34%; min-width: 200px; }
        .summary td.error-text { white-space: normal; }
        .chips { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0 10px; }
        .chip { display: inline-flex; align-items: center; gap: 6px; padding: 2px 9px; border-radius: 12px;
                border: 1px solid var(--border); background: var(--panel); cursor: pointer; }
        .chip.active { border-color: var(--accent); background: var(--accent-soft); }
        .chip .n { font-weight: 650; font-variant-numeric: tabular-nums; }
        .reason { display: inline-flex; align-items: center; gap: 6px; }
        .reason .swatch { width: 9px; height: 9px; border-radius: 50%; flex: none; }
        .detail-title { font-size: 14px; margin: 4px 0 0; }
        .detail-title .sub { color: var(--muted); font-weight: normal; font-size: 13px; }
        .raw-links { margin: 4px 0 0; color: var(--muted); }
        .raw-links a { color: var(--accent); text-decoration: none; margin-left: 10px; }
        .raw-links a:hover { text-decoration: underline; }
        #threads-table tbody tr.thread { cursor: pointer; }
        #threads-table td.frames { font-family: var(--mono); font-size: 12px; max-width: 560px; overflow: hidden;
                                   text-overflow: ellipsis; color: #3d4756; }
        #threads-table tr.stack td { background: #fafbfc; white-space: normal; }
        #threads-table tr.stack pre { margin: 2px 0 6px; font-family: var(--mono); font-size: 12px; white-space: pre-wrap; }

        .toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 14px; margin-bottom: 10px; }
        .flame-status { color: var(--muted); min-height: 22px; margin-bottom: 6px; }
        .flame-status.error { color: var(--danger); }
        .progress { display: inline-block; vertical-align: middle; margin-left: 10px; width: 160px; height: 6px; background: var(--line); border-radius: 3px; overflow: hidden; }
        .progress span { display: block; height: 100%; width: 0; background: var(--accent); }
        .flame-graph { background: var(--panel); border: 1px solid var(--border); border-radius: 6px; overflow: hidden; }
        .flame-graph:empty { display: none; }
        .flame-graph svg { display: block; width: 100%; height: auto; }
        .flame-graph svg text { font-family: Verdana, "DejaVu Sans", sans-serif; font-size: 12px; fill: #000; }
        .flame-graph svg text.heading { font-size: 17px; }
        .flame-graph svg text.subheading { fill: #555; }
        .flame-graph g.f text { pointer-events: none; }
        .flame-graph g.f:hover rect { stroke: #000; stroke-width: 0.5; cursor: pointer; }

        .statusbar { display: flex; gap: 16px; align-items: center; padding: 4px 16px; background: var(--panel);
                     border-top: 1px solid var(--border); color: var(--muted); min-height: 26px; }
        .notice { margin-left: auto; color: var(--text); }
        .notice.error { color: var(--danger); }

        .dialog { border: 1px solid var(--border); border-radius: 8px; padding: 18px 20px; width: 460px;
                  box-shadow: 0 12px 40px rgba(0,0,0,.18); }
        .dialog::backdrop { background: rgba(20,28,40,.35); }
        .dialog h2 { margin: 0 0 8px; font-size: 16px; }
        .dialog .what { color: var(--muted); margin: 0 0 12px; }
        .dialog .field { display: flex; flex-direction: column; gap: 4px; color: var(--muted); }
        .dialog .field input { color: var(--text); padding: 5px 8px; }
        .dialog .buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 16px; }

        """#
}
