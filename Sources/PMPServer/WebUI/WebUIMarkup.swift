/// The web UI's document: the fixed parts of the page, which the script fills. Ids are what the script (and
/// the browser tests) look elements up by.
enum WebUIMarkup {
    static func document(style: String, script: String) -> String {
        head + "<style>\n" + style + "</style>\n</head>\n" + body + "<script>\n" + script + "</script>\n</body>\n</html>\n"
    }

    static let head = #"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>swift-pmp</title>

        """#

    static let body = #"""
        <body>
        <header class="topbar">
          <div class="brand" title="swift-pmp: what every request and thread is doing, across endpoints">swift-pmp</div>
          <nav class="tabs" aria-label="Views">
            <a id="tab-procs" data-view="procs" href="#/procs">Processes</a>
            <a id="tab-threads" data-view="threads" href="#/threads">Threads</a>
            <a id="tab-flame" data-view="flame" href="#/flame">Flame graph</a>
          </nav>
          <div class="grow"></div>
          <label class="control" title="How often the endpoints are asked">Refresh
            <select id="poll">
              <option value="1">every 1 s</option>
              <option value="2">every 2 s</option>
              <option value="5">every 5 s</option>
              <option value="10">every 10 s</option>
              <option value="30">every 30 s</option>
              <option value="0">paused</option>
            </select>
          </label>
          <button id="refresh-now" type="button" title="Ask every endpoint now">Refresh now</button>
          <button id="token-button" type="button" title="A token for endpoints started with PMP_TOKEN">Token</button>
        </header>

        <section class="hostbar" aria-label="Endpoints">
          <ul id="hosts" class="hosts"></ul>
          <form id="add-host" class="add-host" autocomplete="off">
            <input id="add-host-input" type="text" placeholder="host:port" aria-label="Endpoint to add" spellcheck="false">
            <button type="submit">Add</button>
          </form>
          <div class="grow"></div>
          <input id="filter" type="search" placeholder="Filter: host, id, status, attributes…" aria-label="Filter"
                 spellcheck="false">
        </section>
        <div id="host-errors" class="host-errors" aria-live="polite"></div>

        <main>
          <section id="view-procs" class="view view-procs">
            <div class="table-pane">
              <table id="procs-table" class="grid">
                <thead></thead>
                <tbody></tbody>
              </table>
              <p id="procs-empty" class="empty"></p>
            </div>
            <aside id="history" class="side-panel" hidden></aside>
          </section>

          <section id="view-threads" class="view view-threads" hidden>
            <table id="threads-summary" class="grid summary"></table>
            <div id="threads-detail"></div>
          </section>

          <section id="view-flame" class="view view-flame" hidden>
            <form id="flame-controls" class="toolbar" autocomplete="off">
              <label class="control">Endpoint <select id="flame-host"></select></label>
              <label class="control">Length
                <select id="flame-seconds">
                  <option value="1">1 s</option><option value="2">2 s</option><option value="5">5 s</option>
                  <option value="10">10 s</option><option value="30">30 s</option>
                </select>
              </label>
              <label class="control">Rate
                <select id="flame-hz">
                  <option value="50">50 Hz</option><option value="100">100 Hz</option>
                  <option value="200">200 Hz</option><option value="500">500 Hz</option>
                </select>
              </label>
              <label class="control"><input id="flame-state" type="checkbox"> wait reason at the root</label>
              <label class="control"><input id="flame-registered" type="checkbox"> registered threads only</label>
              <label class="control"><input id="flame-repeat" type="checkbox"> keep recording</label>
              <button id="flame-record" type="submit" class="primary">Record</button>
            </form>
            <div id="flame-status" class="flame-status"></div>
            <div id="flame-graph" class="flame-graph"></div>
          </section>
        </main>

        <footer class="statusbar"><span id="status-line"></span><span id="notice" class="notice" role="status"></span></footer>

        <dialog id="cancel-dialog" class="dialog" aria-labelledby="cancel-title">
          <form id="cancel-form" autocomplete="off">
            <h2 id="cancel-title">Cancel process</h2>
            <p id="cancel-what" class="what"></p>
            <label class="field">Message (the process gets it with its cancellation)
              <input id="cancel-message" type="text" placeholder="why it is cancelled" spellcheck="false">
            </label>
            <p id="cancel-error" class="error-text"></p>
            <div class="buttons">
              <button id="cancel-keep" type="button">Keep it running</button>
              <button id="cancel-confirm" type="submit" class="danger">Cancel process</button>
            </div>
          </form>
        </dialog>

        <dialog id="token-dialog" class="dialog" aria-labelledby="token-title">
          <form id="token-form" autocomplete="off">
            <h2 id="token-title">Token</h2>
            <p class="what">Endpoints started with <code>PMP_TOKEN</code> want it on every request. A token is sent as
              <code>Authorization: Bearer</code> to the endpoint it is given for, and to no other; it is kept only for
              this tab.</p>
            <label class="field">Endpoint <select id="token-host"></select></label>
            <label class="field">Token <input id="token-input" type="password" spellcheck="false"></label>
            <div class="buttons">
              <button id="token-clear" type="button">Forget</button>
              <button id="token-close" type="button">Close</button>
              <button id="token-save" type="submit" class="primary">Use</button>
            </div>
          </form>
        </dialog>

        """#
}
