import Foundation
import PMPTestSupport
import Testing

/// The web UI with a hostile endpoint in its link, in headless Chromium: a fake endpoint answers `/procs`,
/// `/stacks` and `/profile?format=svg` with `<script>`, `on…` handlers, `javascript:` URLs and markup in every
/// name, each of which would call its canary URL if it ran. None may run, the names show as text, and the token
/// given for the endpoint that served the page never reaches the hostile one.
@Suite("web UI against a hostile endpoint", .serialized, .timeLimit(.minutes(3)))
struct WebUIHostileEndpointTests {
    /// JavaScript that calls the canary and marks the page, for every place a payload goes.
    static func payload(_ canary: String, _ place: String) -> String {
        "fetch('\(canary)?\(place)');window.__owned='\(place)'"
    }

    /// The hostile endpoint's answers, with `canary` as the URL its payloads call.
    static func answers(canary: String) -> @Sendable (HostileEndpoint.Request) -> HostileEndpoint.Answer {
        let cors = ["Access-Control-Allow-Origin: *", "Access-Control-Allow-Methods: GET, DELETE, OPTIONS",
                    "Access-Control-Allow-Headers: Authorization, Content-Type"]
        @Sendable func json(_ object: Any) -> HostileEndpoint.Answer {
            let data = try! JSONSerialization.data(withJSONObject: object)
            return HostileEndpoint.answer(contentType: "application/json", body: [UInt8](data), headers: cors)
        }
        let js: @Sendable (String) -> String = { place in payload(canary, place) }
        let markup: @Sendable (String) -> String = { place in "<img src=x onerror=\"\(js(place))\"><script>\(js(place + "-script"))</script>" }
        let svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="1200" height="122"
                 viewBox="0 0 1200 122" onload="\(js("svg-onload"))">
            <script>\(js("svg-script"))</script>
            <style>@import url('\(canary)?css'); rect { fill: url('\(canary)?fill') }</style>
            <text class="heading" x="600" y="24">&lt;script&gt;\(js("heading"))&lt;/script&gt;</text>
            <text class="subheading" x="600" y="44">5 samples</text>
            <image href="\(canary)?image" x="0" y="0" width="10" height="10"/>
            <a href="javascript:\(js("link"))"><text x="5" y="60">click</text></a>
            <foreignObject width="100" height="100"><iframe xmlns="http://www.w3.org/1999/xhtml" src="\(canary)?iframe"></iframe></foreignObject>
            <g id="frames">
            <g class="f" onmouseover="\(js("frame-over"))"><title>all (5 samples, 100.00%)</title><rect x="10" y="96" width="1180" height="15" fill="rgb(200,200,200)" onclick="\(js("rect-click"))"/><text x="13" y="107.5">all</text></g>
            <g class="f"><title>&lt;img src=x onerror="\(js("frame-title"))"&gt; (5 samples, 100.00%)</title><rect x="10" y="80" width="1180" height="15" fill="url(\(canary)?rect)"/><text x="13" y="91.5">evil</text></g>
            </g>
            </svg>
            """
        return { request in
            if request.method == "OPTIONS" {
                return HostileEndpoint.answer(status: "204 No Content", contentType: "text/plain", body: [], headers: cors)
            }
            if request.target.hasPrefix("/canary") {
                return HostileEndpoint.answer(contentType: "text/plain", text: "caught", headers: cors)
            }
            if request.target.hasPrefix("/profile") {
                return HostileEndpoint.answer(contentType: "image/svg+xml", text: svg, headers: cors)
            }
            if request.target.hasPrefix("/stacks") {
                return json(["pid": 1, "time": "2026-01-01T00:00:10Z", "elapsed": 0.001, "threadCount": 1, "captured": 1,
                             "threads": [["tid": 7, "name": markup("thread-name"), "state": "S",
                                          "waitReason": markup("wait-reason"), "blockedFor": 1.5, "truncated": false,
                                          "frames": [["function": markup("function"), "image": markup("image"),
                                                      "address": "0x1"]]]]])
            }
            if request.target.hasPrefix("/procs/") {
                return json(["serverTime": "2026-01-01T00:00:10Z",
                             "history": [["ts": "2026-01-01T00:00:00Z", "status": markup("history")]]])
            }
            return json(["serverTime": "2026-01-01T00:00:10Z",
                         "procs": [["id": "hostile-" + markup("id"), "procTime": "2026-01-01T00:00:00Z",
                                    "statusTime": "2026-01-01T00:00:05Z", "status": markup("status"),
                                    "attrs": [["name": markup("attr-name"), "value": "javascript:" + js("attr-value")]]]]])
        }
    }

    @Test("nothing of a hostile endpoint's answers runs; its names are text; the serving endpoint's token stays there")
    func hostileEndpointInTheLink() async throws {
        let token = "web-ui-\(UUID().uuidString)"
        let demo = try DemoProcess(WebUITests.demoArguments, environment: ["PMP_TOKEN": token])
        defer { demo.stop() }
        let pmp = try #require(demo.pmpURL)
        let host = WebUITests.hostPort(pmp)
        // The canary is the hostile endpoint itself: every request to /canary is a payload that ran.
        let box = AnswerBox()
        let endpoint = try HostileEndpoint { request in box.answer(request) }
        defer { endpoint.stop() }
        box.set(Self.answers(canary: "http://\(endpoint.hostPort)/canary"))
        let evil = endpoint.hostPort

        let browser = try HeadlessChromium()
        defer { browser.close() }
        try browser.open("\(pmp)/?token=\(token)#/procs?host=\(host),\(evil)&poll=1")
        let rows = try await eventually("the hostile row, as text") { () -> [WebUITests.PageRow]? in
            let rows = try WebUITests.processRows(browser)
            return rows.contains { $0.host == evil && $0.id.hasPrefix("hostile-<img") } ? rows : nil
        }
        #expect(rows.contains { $0.host == evil && $0.text.contains("<script>") }, "\(rows)")
        // The serving endpoint answers with its token: the page is working.
        _ = try await eventually("the serving endpoint answering") {
            try browser.evaluate("document.querySelector('#hosts li[data-host=\"\(host)\"]').className") as? String == "host ok" ? true : nil
        }
        try browser.evaluate("\(WebUITests.rowExpression(host: evil, text: "hostile-")).click()")
        _ = try await eventually("its history") {
            (try browser.evaluate("document.querySelectorAll('#history .timeline tr').length") as? Int ?? 0) > 0 ? true : nil
        }

        try browser.evaluate("location.hash = '#/threads?host=\(host),\(evil)&th=\(evil)&poll=1'")
        let threadName = try await eventually("the hostile thread") { () -> String? in
            let text = try browser.evaluate("(document.querySelector('#threads-table tr.thread') || {}).textContent || ''") as? String
            return text?.contains("<img") == true ? text : nil
        }
        #expect(threadName.contains("<script>"))
        try browser.evaluate("document.querySelector('#threads-table tr.thread').click()")

        try browser.evaluate("location.hash = '#/flame?host=\(host),\(evil)&fh=\(evil)&seconds=1'")
        let titles = try await eventually("the hostile flame graph, redrawn") { () -> [String]? in
            let titles = try browser.evaluate("[...document.querySelectorAll('#flame-graph svg g.f title')].map(t => t.textContent)")
                as? [String] ?? []
            return titles.count == 2 ? titles : nil
        }
        #expect(titles[1].hasPrefix("<img src=x onerror="), "\(titles)")
        // Click and hover every frame, the way a person exploring the graph would.
        try browser.evaluate("""
            for (const g of document.querySelectorAll('#flame-graph g.f, #flame-graph rect, #flame-graph a')) {
              g.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
              g.dispatchEvent(new MouseEvent('click', { bubbles: true }));
            }
            """)
        let inserted = try browser.evaluate("""
            document.querySelectorAll('#flame-graph script, #flame-graph image, #flame-graph foreignObject, #flame-graph a, #flame-graph style, #flame-graph [onload], #flame-graph [onclick], #flame-graph [onmouseover]').length
            """) as? Int
        #expect(inserted == 0, "only shapes and text are drawn")
        let heading = try browser.evaluate("(document.querySelector('#flame-graph text.heading') || {}).textContent || ''") as? String ?? ""
        #expect(heading.hasPrefix("<script>"))

        // Time for anything that was going to run, then: nothing did, and the token stayed with its endpoint.
        try await Task.sleep(for: .seconds(2))
        #expect(try browser.evaluate("typeof window.__owned") as? String == "undefined")
        let requests = endpoint.requests
        let canaries = requests.filter { $0.target.hasPrefix("/canary") }.map(\.target)
        #expect(canaries.isEmpty, "payloads ran: \(canaries)")
        #expect(requests.contains { $0.target.hasPrefix("/procs") } && requests.contains { $0.target.hasPrefix("/profile") })
        let authorized = requests.filter { request in
            request.header("authorization") != nil
                || request.header("access-control-request-headers")?.lowercased().contains("authorization") == true
        }
        #expect(authorized.isEmpty, "the hostile endpoint was offered a token: \(authorized.map(\.target))")
        #expect(!requests.contains { request in request.headers.contains { $0.value.contains(token) } })
        try WebUITests.screenshot(browser, "hostile-flame-graph")
    }

}

/// Answers made once the endpoint listens (they name its port).
final class AnswerBox: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: (@Sendable (HostileEndpoint.Request) -> HostileEndpoint.Answer)?

    func set(_ answers: @escaping @Sendable (HostileEndpoint.Request) -> HostileEndpoint.Answer) {
        lock.withLock { self.answers = answers }
    }

    func answer(_ request: HostileEndpoint.Request) -> HostileEndpoint.Answer {
        guard let answers = lock.withLock({ answers }) else { return .bytes([]) }
        return answers(request)
    }
}

/// Polls `condition` (every 100 ms) until it gives a value; throws after `timeout` seconds.
@discardableResult
private func eventually<T>(_ what: String, timeout: Double = 30, _ condition: () throws -> T?) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if let value = try condition() { return value }
        if Date() > deadline { throw TestFailure("timed out after \(timeout) s waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(100))
    }
}
