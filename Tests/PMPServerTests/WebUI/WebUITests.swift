import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PMPTestSupport
import Testing

/// The web UI at `GET /`, in Debian's headless Chromium against live `pmp-demo` endpoints with requests in
/// flight: what a person sees (rows, marks, history, threads, the flame graph) is read from the page's DOM, and
/// what they do (click, type) is done through the DevTools protocol. Screenshots are written to
/// `$TMPDIR/pmp-webui-screenshots/`.
@Suite("web UI in headless chromium", .serialized, .timeLimit(.minutes(5)))
struct WebUITests {
    static let demoArguments = ["--threads", "5", "--busy", "1", "--tasks", "0",
                                "--serve", "127.0.0.1:0", "--pmp", "127.0.0.1:0"]

    @Test("GET / serves the page: HTML, inline only, a policy that allows nothing but the endpoints")
    func servedPage() async throws {
        let demo = try DemoProcess(Self.demoArguments)
        defer { demo.stop() }
        let pmp = try #require(demo.pmpURL)
        let answer = try await HTTPClient.get(pmp + "/")
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"] == "text/html; charset=utf-8")
        let policy = try #require(answer.headers["content-security-policy"])
        #expect(policy.contains("default-src 'none'") && policy.contains("connect-src http: https:"))
        #expect(!policy.contains("unsafe-inline") && policy.contains("script-src 'sha256-"), "\(policy)")
        #expect(answer.headers["x-content-type-options"] == "nosniff")
        let page = answer.text
        #expect(page.hasPrefix("<!DOCTYPE html>") && page.hasSuffix("</html>\n"))
        for external in ["<script src", "<link", "@import", "url(", "<iframe", "<img"] {
            #expect(!page.contains(external), "the page loads nothing from elsewhere: found \(external)")
        }
        // One script, one style sheet, both inline; and the shapes the CLI's links use.
        #expect(page.components(separatedBy: "<script>").count == 2)
        #expect(page.components(separatedBy: "<style>").count == 2)
    }

    @Test("two endpoints merged and a dead one marked; history with time per status; cancel with a message")
    func processTableAcrossEndpoints() async throws {
        let first = try DemoProcess(Self.demoArguments)
        let second = try DemoProcess(Self.demoArguments)
        defer { first.stop(); second.stop() }
        let firstPMP = try #require(first.pmpURL), secondPMP = try #require(second.pmpURL)
        let firstHost = Self.hostPort(firstPMP), secondHost = Self.hostPort(secondPMP)
        let deadHost = "127.0.0.1:\(try Self.unusedPort())"

        let slow = [("web-a1", first), ("web-a2", first), ("web-b1", second)].map { requestID, demo in
            Task { try await HTTPClient.request("\(demo.servingURL!)/work?ms=60000", headers: ["X-Request-ID": requestID]) }
        }
        defer { for request in slow { request.cancel() } }

        let browser = try HeadlessChromium()
        defer { browser.close() }
        // The URL `pmp link` prints, served by the first endpoint.
        try browser.open("\(firstPMP)/#/procs?host=\(firstHost),\(secondHost),\(deadHost)&poll=1", recordRequests: true)

        let rows = try await eventually("the three requests as rows") { () -> [PageRow]? in
            let rows = try Self.processRows(browser)
            let wanted = [(firstHost, "web-a1"), (firstHost, "web-a2"), (secondHost, "web-b1")]
            return wanted.allSatisfy { host, id in rows.contains { $0.host == host && $0.text.contains(id) } } ? rows : nil
        }
        for row in rows where row.text.contains("web-") {
            #expect(row.text.contains("GET") && row.text.contains("/work?ms=60000"), "attribute columns: \(row)")
        }

        // The dead endpoint: marked, with why, while the others keep answering.
        let deadMark = try await eventually("the dead endpoint marked") { () -> String? in
            let mark = try browser.evaluate("""
                (() => { const chip = document.querySelector('#hosts li[data-host="\(deadHost)"]');
                  const line = document.querySelector('#host-errors [data-host="\(deadHost)"]');
                  return chip && chip.classList.contains('error') && line ? line.textContent : ''; })()
                """) as? String
            return mark?.isEmpty == false ? mark : nil
        }
        #expect(deadMark.contains("unreachable"), "\(deadMark)")
        for host in [firstHost, secondHost] {
            let chipClass = try browser.evaluate("document.querySelector('#hosts li[data-host=\"\(host)\"]').className") as? String
            #expect(chipClass == "host ok")
        }
        let statusLine = try browser.evaluate("document.getElementById('status-line').textContent") as? String ?? ""
        #expect(statusLine.hasPrefix("2 of 3 endpoints answering"), "\(statusLine)")

        // The filter keeps rows whose text has every word.
        try Self.setFilter(browser, "web-b1")
        let filtered = try await eventually("only web-b1 left") { () -> [PageRow]? in
            let rows = try Self.processRows(browser)
            return rows.count == 1 ? rows : nil
        }
        #expect(filtered[0].host == secondHost && filtered[0].text.contains("web-b1"))
        try Self.setFilter(browser, "")

        // The history of web-a1: the same statuses as the endpoint's, each with its duration, the last one running.
        let aRow = try #require(rows.first { $0.text.contains("web-a1") })
        try browser.evaluate("\(Self.rowExpression(host: firstHost, text: "web-a1")).click()")
        let timeline = try await eventually("web-a1's history") { () -> [[String]]? in
            let lines = try browser.evaluate("""
                [...document.querySelectorAll('#history .timeline tr')].map(tr => [...tr.cells].map(td => td.textContent))
                """) as? [[String]] ?? []
            return lines.count >= 2 && lines.last?.last?.hasSuffix("so far") == true ? lines : nil
        }
        let endpointHistory = try await Self.historyStatuses(firstPMP, id: aRow.id)
        #expect(timeline.map { $0[1] } == Array(endpointHistory.prefix(timeline.count)), "page \(timeline), endpoint \(endpointHistory)")
        #expect(timeline.first?[1] == "init")
        let totals = try browser.evaluate("""
            [...document.querySelectorAll('#history .time-by-status li')].map(li => li.dataset.status)
            """) as? [String] ?? []
        #expect(Set(totals) == Set(timeline.map { $0[1] }), "time per status: \(totals)")
        // Where its task is waiting: the whole async backtrace, down to the demo's request handler.
        let backtrace = try await eventually("web-a1's async backtrace") { () -> [String]? in
            let frames = try browser.evaluate("""
                [...document.querySelectorAll('#history .async-backtrace li .function')].map(node => node.textContent)
                """) as? [String] ?? []
            return frames.isEmpty ? nil : frames
        }
        #expect(backtrace.contains { $0.contains("DemoEndpoints.work(") }, "\(backtrace)")
        let taskSummary = try browser.evaluate("document.querySelector('#history .task-summary').textContent") as? String
        #expect(taskSummary?.contains("sleeping") == true, "\(taskSummary ?? "")")
        try Self.screenshot(browser, "processes-with-history")

        // Cancel web-a1 on the endpoint that served the page: its client gets the message.
        try await Self.cancel(browser, host: firstHost, text: "web-a1", message: "stopped from the web UI")
        let notice = try await eventually("the cancel confirmed") { () -> String? in
            let text = try browser.evaluate("document.getElementById('notice').textContent") as? String ?? ""
            return text.contains("Cancel requested") ? text : nil
        }
        #expect(notice.contains(aRow.id))
        let cancelled = try await slow[0].value
        #expect(cancelled.status == 503)
        #expect(cancelled.text == "cancelled: stopped from the web UI\n")
        _ = try await eventually("web-a1 gone from the table") { () -> Bool? in
            try Self.processRows(browser).contains { $0.text.contains("web-a1") } ? nil : true
        }

        // On another endpoint without a token, the endpoint refuses a page of another origin; the page says so.
        try await Self.cancel(browser, host: secondHost, text: "web-b1", message: "not allowed")
        let refusal = try await eventually("the refusal shown") { () -> String? in
            let text = try browser.evaluate("document.getElementById('cancel-error').textContent") as? String ?? ""
            return text.isEmpty ? nil : text
        }
        #expect(refusal.contains("HTTP 403") && refusal.contains("token"), "\(refusal)")
        #expect(try browser.evaluate("document.getElementById('cancel-dialog').open") as? Bool == true)
        try Self.screenshot(browser, "cancel-refused")
        try browser.evaluate("document.getElementById('cancel-keep').click()")
        let stillRunning = try await HTTPClient.get(secondPMP + "/procs")
        #expect(stillRunning.text.contains("web-b1"))

        // Everything the page asked for went to the endpoints it was given.
        let foreign = browser.requestedURLs.filter { url in
            ![firstPMP, secondPMP, "http://\(deadHost)"].contains { url.hasPrefix($0 + "/") }
        }
        #expect(foreign.isEmpty, "requests beyond the endpoints: \(foreign)")
        #expect(browser.requestedURLs.contains { $0.hasPrefix(secondPMP + "/procs") })
        #expect(browser.pageErrors.isEmpty, "\(browser.pageErrors)")
    }

    @Test("with PMP_TOKEN: ?token= is the serving endpoint's, another endpoint's token is typed for it; each goes to its own")
    func tokenAndCancelOnAnotherEndpoint() async throws {
        let token = "web-ui-\(UUID().uuidString)"
        let first = try DemoProcess(Self.demoArguments, environment: ["PMP_TOKEN": token])
        let second = try DemoProcess(Self.demoArguments, environment: ["PMP_TOKEN": token])
        defer { first.stop(); second.stop() }
        let firstPMP = try #require(first.pmpURL), secondPMP = try #require(second.pmpURL)
        let firstHost = Self.hostPort(firstPMP), secondHost = Self.hostPort(secondPMP)
        #expect(try await HTTPClient.get(firstPMP + "/procs").status == 401, "the endpoints want the token")

        let slow = Task {
            try await HTTPClient.request("\(second.servingURL!)/work?ms=60000", headers: ["X-Request-ID": "web-token-b1"])
        }
        defer { slow.cancel() }

        let browser = try HeadlessChromium()
        defer { browser.close() }
        try browser.open("\(firstPMP)/?token=\(token)#/procs?host=\(firstHost),\(secondHost)&poll=1")
        // The second endpoint wants its own token: given in the dialog, for it.
        _ = try await eventually("the second endpoint refusing") { () -> Bool? in
            try browser.evaluate("!!document.querySelector('#host-errors [data-host=\"\(secondHost)\"]')") as? Bool == true ? true : nil
        }
        try browser.evaluate("""
            document.getElementById('token-button').click();
            document.getElementById('token-host').value = '\(secondHost)';
            document.getElementById('token-input').value = '\(token)';
            document.getElementById('token-save').click();
            """)
        _ = try await eventually("web-token-b1 listed") { () -> Bool? in
            try Self.processRows(browser).contains { $0.host == secondHost && $0.text.contains("web-token-b1") } ? true : nil
        }
        #expect(try browser.evaluate("location.search") as? String == "", "the token left the address bar")
        #expect(try browser.evaluate("location.hash") as? String == "#/procs?host=\(firstHost),\(secondHost)&poll=1")
        #expect(try browser.evaluate("sessionStorage.getItem('swift-pmp.token:\(firstHost)')") as? String == token)
        #expect(try browser.evaluate("sessionStorage.getItem('swift-pmp.token:\(secondHost)')") as? String == token)
        #expect(try browser.evaluate("document.getElementById('token-button').textContent") as? String == "Token ✓")

        try await Self.cancel(browser, host: secondHost, text: "web-token-b1", message: "cancelled with a token")
        let cancelled = try await slow.value
        #expect(cancelled.status == 503)
        #expect(cancelled.text == "cancelled: cancelled with a token\n")

        // A wrong token typed into the page for the first endpoint: it is marked with its refusal, the other not.
        try browser.evaluate("""
            document.getElementById('token-button').click();
            document.getElementById('token-host').value = '\(firstHost)';
            document.getElementById('token-input').value = 'wrong';
            document.getElementById('token-save').click();
            """)
        let marks = try await eventually("the first endpoint refusing") { () -> [String]? in
            let lines = try browser.evaluate("[...document.querySelectorAll('#host-errors .host-error')].map(d => d.textContent)")
                as? [String] ?? []
            return lines.count == 1 && lines[0].contains(firstHost) ? lines : nil
        }
        #expect(marks.allSatisfy { $0.contains("HTTP 401") && $0.contains("the token is not valid") }, "\(marks)")
        try Self.screenshot(browser, "wrong-token")
        #expect(browser.pageErrors.isEmpty, "\(browser.pageErrors)")
    }

    @Test("tasks by state per endpoint, groups of tasks suspended alike, and a group's whole async backtrace")
    func tasksView() async throws {
        let demo = try DemoProcess.withTaskStates(2, pmp: true)
        defer { demo.stop() }
        let pmp = try #require(demo.pmpURL)
        let browser = try HeadlessChromium()
        defer { browser.close() }
        try browser.open("\(pmp)/#/tasks?poll=1")
        let line = try await eventually("the endpoint's line with its tasks") { () -> [String]? in
            let cells = try browser.evaluate("""
                [...(document.querySelector('#tasks-summary tbody tr')?.cells || [])].map(td => td.textContent)
                """) as? [String] ?? []
            return cells.count == 7 && Int(cells[2]) ?? 0 > 0 ? cells : nil
        }
        #expect(Int(line[2]) ?? 0 >= 2 * 8, "every demo task counted: \(line)")
        let chips = try browser.evaluate("[...document.querySelectorAll('#tasks-detail .chip')].map(b => b.dataset.state)") as? [String] ?? []
        #expect(Set(chips).isSuperset(of: ["", "sleeping", "continuation", "enqueued", "group", "task"]), "\(chips)")

        // Keep the sleepers: one group of two, whose backtrace names the demo's function.
        try browser.evaluate("document.querySelector('#tasks-detail .chip[data-state=\"sleeping\"]').click()")
        let groups = try await eventually("only the sleeping group") { () -> [[String]]? in
            let rows = try browser.evaluate("""
                [...document.querySelectorAll('#tasks-table tr.task-group')].map(tr => [...tr.cells].map(td => td.textContent))
                """) as? [[String]] ?? []
            return rows.count == 1 ? rows : nil
        }
        #expect(groups[0][0] == "2" && groups[0][1] == "sleeping", "\(groups)")
        try browser.evaluate("document.querySelector('#tasks-table tr.task-group').click()")
        let backtrace = try await eventually("the group's async backtrace") { () -> String? in
            let text = try browser.evaluate("document.querySelector('#tasks-table pre.async-backtrace')?.textContent") as? String
            return text?.isEmpty == false ? text : nil
        }
        #expect(backtrace.contains("sleepingForAnHour"), "\(backtrace)")
        let tasks = try browser.evaluate("document.querySelector('#tasks-table pre.task-list').textContent") as? String ?? ""
        #expect(tasks.contains("\"sleeper-0\"") && tasks.contains("\"sleeper-1\""), "\(tasks)")
        try Self.screenshot(browser, "tasks")

        // The thread running the actor's holder: its stack goes on with that task's async frames.
        try browser.evaluate("location.hash = '#/threads?poll=1'")
        let holder = try await eventually("the holder's thread row") { () -> Bool? in
            try browser.evaluate("""
                (() => { const row = [...document.querySelectorAll('#threads-table tr.thread')]
                           .find(tr => tr.cells[5].title.includes('holdWhileBlocked'));
                         if (row && row.getAttribute('aria-expanded') !== 'true') row.click();
                         return !!row; })()
                """) as? Bool == true ? true : nil
        }
        #expect(holder)
        let continuation = try await eventually("the async continuation") { () -> String? in
            let text = try browser.evaluate("document.querySelector('#threads-table pre.async-continuation')?.textContent") as? String
            return text?.isEmpty == false ? text : nil
        }
        #expect(continuation.hasPrefix("running task ") && continuation.contains("\"actor-holder\""), "\(continuation)")
        #expect(browser.pageErrors.isEmpty, "\(browser.pageErrors)")
    }

    @Test("threads by wait reason per endpoint, a thread's stack, and the flame graph of a fresh profile")
    func threadsAndFlameGraph() async throws {
        let first = try DemoProcess(Self.demoArguments)
        let second = try DemoProcess(Self.demoArguments)
        defer { first.stop(); second.stop() }
        let firstPMP = try #require(first.pmpURL), secondPMP = try #require(second.pmpURL)
        let firstHost = Self.hostPort(firstPMP), secondHost = Self.hostPort(secondPMP)

        let browser = try HeadlessChromium()
        defer { browser.close() }
        // Without endpoints in the URL, the page asks the one that served it.
        try browser.open("\(firstPMP)/")
        let chips = try await eventually("the serving endpoint answering") { () -> [String]? in
            let chips = try browser.evaluate("[...document.querySelectorAll('#hosts li.host.ok')].map(li => li.dataset.host)")
                as? [String] ?? []
            return chips.isEmpty ? nil : chips
        }
        #expect(chips == [firstHost])
        #expect(try browser.evaluate("location.hash") as? String == "#/procs")

        try browser.evaluate("location.hash = '#/threads?host=\(firstHost),\(secondHost)&poll=1'")
        let summary = try await eventually("a line per endpoint") { () -> [[String]]? in
            let lines = try browser.evaluate("""
                [...document.querySelectorAll('#threads-summary tbody tr')].map(tr => [tr.dataset.host, ...[...tr.cells].slice(1, 3).map(td => td.textContent)])
                """) as? [[String]] ?? []
            return lines.count == 2 && lines.allSatisfy({ $0.count == 3 && Int($0[2]) ?? 0 > 0 }) ? lines : nil
        }
        #expect(summary.map { $0[0] } == [firstHost, secondHost])
        #expect(summary.map { $0[1] } == [String(first.pid), String(second.pid)])

        // The first endpoint's threads: the demo's workers with the wait reasons they are stuck in.
        let threads = try await eventually("the thread list") { () -> [String: String]? in
            let pairs = try browser.evaluate("""
                [...document.querySelectorAll('#threads-table tr.thread')].map(tr => [tr.cells[1].textContent, tr.cells[3].textContent])
                """) as? [[String]] ?? []
            let byName = Dictionary(pairs.map { ($0[0], $0[1]) }, uniquingKeysWith: { a, _ in a })
            return byName["cond-1"] != nil ? byName : nil
        }
        // A spinning thread answers the capture signal when it next runs: on a loaded machine, maybe too late.
        #expect(["running", "no answer"].contains(threads["busy-0"] ?? ""), "busy-0: \(threads["busy-0"] ?? "missing")")
        #expect(threads["cond-1"] == "condition wait")
        #expect(threads["mutex-2"]?.hasPrefix("mutex lock, held by thread ") == true, "\(threads["mutex-2"] ?? "missing")")
        #expect(threads["mutex-2"]?.hasSuffix(#" "lock-holder""#) == true)
        #expect(threads["swift-mutex-0"]?.hasPrefix("mutex lock, held by thread ") == true)
        #expect(threads["sleep-3"] == "sleep")
        #expect(threads["read-4"] == "read")
        let conditionChip = try browser.evaluate("document.querySelector('.chip[data-reason=\"condition wait\"] .n').textContent") as? String
        let conditionRows = try browser.evaluate("""
            [...document.querySelectorAll('#threads-table tr.thread')].filter(tr => tr.cells[3].textContent === 'condition wait').length
            """) as? Int
        #expect(conditionChip != nil && conditionChip == conditionRows.map(String.init), "the chip counts the list's rows")
        try browser.evaluate("[...document.querySelectorAll('#threads-table tr.thread')].find(tr => tr.cells[1].textContent === 'cond-1').click()")
        let stack = try await eventually("cond-1's stack") { () -> String? in
            let text = try browser.evaluate("(document.querySelector('#threads-table tr.stack pre') || {}).textContent || ''") as? String
            return text?.isEmpty == false ? text : nil
        }
        #expect(stack.contains("pthread_cond") && stack.contains("#0 "), "\(stack)")
        try Self.screenshot(browser, "threads")

        // The flame graph: the endpoint's SVG in the page, frames titled, its zoom working.
        try browser.evaluate("location.hash = '#/flame?host=\(firstHost),\(secondHost)&fh=\(firstHost)&seconds=1'")
        let frameTitles = try await eventually("the flame graph", timeout: 30) { () -> [String]? in
            let titles = try browser.evaluate("[...document.querySelectorAll('#flame-graph svg g.f title')].map(t => t.textContent)")
                as? [String] ?? []
            return titles.count > 10 ? titles : nil
        }
        #expect(frameTitles.contains { $0.hasPrefix("[condition wait] (") }, "wait reasons at the root: \(frameTitles.prefix(10))")
        let status = try browser.evaluate("document.getElementById('flame-status').textContent") as? String ?? ""
        #expect(status.hasPrefix("Profile of \(firstHost): 1 s at 100 Hz"), "\(status)")
        try Self.screenshot(browser, "flame-graph")
        let zoom = try browser.evaluate("""
            (() => { const frame = [...document.querySelectorAll('#flame-graph g.f')]
                       .find(g => g.querySelector('title').textContent.startsWith('[condition wait] ('));
                     const rect = frame.querySelector('rect'); const before = +rect.getAttribute('width');
                     frame.dispatchEvent(new MouseEvent('click', { bubbles: true }));
                     return [before, +rect.getAttribute('width')]; })()
            """) as? [Double] ?? []
        #expect(zoom.count == 2 && zoom[0] < zoom[1] && abs(zoom[1] - 1180) < 1, "zoomed from \(zoom)")
        try Self.screenshot(browser, "flame-graph-zoomed")
        #expect(browser.pageErrors.isEmpty, "\(browser.pageErrors)")
    }

    // MARK: - Helpers

    struct PageRow: CustomStringConvertible {
        var host: String
        var id: String
        var text: String
        var description: String { "\(host) \(id): \(text)" }
    }

    static func processRows(_ browser: HeadlessChromium) throws -> [PageRow] {
        let rows = try browser.evaluate("""
            [...document.querySelectorAll('#procs-table tbody tr')].map(tr => [tr.dataset.host, tr.dataset.id,
              [...tr.cells].map(td => td.textContent).join(' | ')])
            """) as? [[String]] ?? []
        return rows.map { PageRow(host: $0[0], id: $0[1], text: $0[2]) }
    }

    /// A JavaScript expression for the table row of `host` whose text contains `text`.
    static func rowExpression(host: String, text: String) -> String {
        "[...document.querySelectorAll('#procs-table tbody tr')].find(tr => tr.dataset.host === '\(host)' && tr.textContent.includes('\(text)'))"
    }

    /// Clicks the row's Cancel, types the message and confirms, as a person would.
    static func cancel(_ browser: HeadlessChromium, host: String, text: String, message: String) async throws {
        try await eventually("the row of \(text) on \(host)") {
            try browser.evaluate("!!\(rowExpression(host: host, text: text))") as? Bool == true ? true : nil
        }
        try browser.evaluate("\(rowExpression(host: host, text: text)).querySelector('button.cancel').click()")
        #expect(try browser.evaluate("document.getElementById('cancel-dialog').open") as? Bool == true)
        let what = try browser.evaluate("document.getElementById('cancel-what').textContent") as? String ?? ""
        #expect(what.contains(host) && what.contains(text), "the dialog names the process: \(what)")
        try browser.evaluate("""
            document.getElementById('cancel-message').value = \(javaScriptString(message));
            document.getElementById('cancel-confirm').click();
            """)
    }

    static func setFilter(_ browser: HeadlessChromium, _ text: String) throws {
        try browser.evaluate("""
            (() => { const input = document.getElementById('filter'); input.value = \(javaScriptString(text));
                     input.dispatchEvent(new Event('input')); })()
            """)
    }

    static func javaScriptString(_ text: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [text])
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }

    static func screenshot(_ browser: HeadlessChromium, _ name: String) throws {
        let path = NSTemporaryDirectory() + "pmp-webui-screenshots/\(name).png"
        try browser.screenshot(to: path)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        #expect(size > 10_000, "a screenshot of the page, not an empty image: \(size) bytes")
        print("web UI screenshot (\(browser.windowWidth)×\(browser.windowHeight)): \(path)")
    }

    static func historyStatuses(_ pmp: String, id: String) async throws -> [String] {
        let answer = try await HTTPClient.get("\(pmp)/procs/\(id)/history")
        let history = try #require(try answer.json()["history"] as? [[String: Any]])
        return history.compactMap { $0["status"] as? String }
    }

    /// `host:port` of `http://host:port`.
    static func hostPort(_ url: String) -> String {
        String(url.dropFirst("http://".count))
    }

    /// A loopback port nothing listens on: bound by the system, then released.
    static func unusedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestFailure("bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Polls `condition` (every 100 ms) until it gives a value; throws after `timeout` seconds.
@discardableResult
private func eventually<T>(_ what: String, timeout: Double = 20, _ condition: () throws -> T?) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if let value = try condition() { return value }
        if Date() > deadline { throw TestFailure("timed out after \(timeout) s waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(100))
    }
}
