/// Builds the served page from the web UI's files (embedded at build time from `WebUI/Page/`): `index.html`
/// opens as it is in a browser, with its style sheet and scripts beside it; served, the `<link>` to the style
/// sheet and the run of `<script src>` lines are replaced by the files themselves, inline, the scripts in one
/// function scope in strict mode, so that the page is one document whose script and style the
/// Content-Security-Policy names by hash.
enum WebUIPage {
    /// The page's files by the names `index.html` refers to them by.
    static let files: [String: [UInt8]] = [
        "style.css": PackageResources.style_css,
        "state.js": PackageResources.state_js,
        "requests.js": PackageResources.requests_js,
        "hosts.js": PackageResources.hosts_js,
        "processes.js": PackageResources.processes_js,
        "history.js": PackageResources.history_js,
        "threads.js": PackageResources.threads_js,
        "tasks.js": PackageResources.tasks_js,
        "flamegraph.js": PackageResources.flamegraph_js,
        "start.js": PackageResources.start_js,
    ]

    struct Assembled {
        var html: String
        /// The inline script's and style sheet's text, as the policy hashes them.
        var script: String
        var style: String
    }

    static let assembled = assemble(index: String(decoding: PackageResources.index_html, as: UTF8.self), files: files)

    static func assemble(index: String, files: [String: [UInt8]]) -> Assembled {
        func file(_ name: Substring) -> String {
            guard let bytes = files[String(name)] else { preconditionFailure("index.html refers to a missing \(name)") }
            return String(decoding: bytes, as: UTF8.self)
        }
        // The page before the scripts' place, and after it (the whole script goes there once all parts are read).
        var head = ""
        var tail = ""
        var style = ""
        var parts = ""
        var scriptsPlaced = false
        for line in index.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if let name = between(line, "<script src=\"", "\"></script>") {
                parts += file(name)
                scriptsPlaced = true
                continue
            }
            var text = line + "\n"
            if let name = between(line, "<link rel=\"stylesheet\" href=\"", "\">") {
                style = "\n" + file(name)
                text = "<style>" + style + "</style>\n"
            }
            if scriptsPlaced { tail += text } else { head += text }
        }
        let script = "\n(function () {\n\"use strict\";\n" + parts + "})();\n"
        return Assembled(html: head + "<script>" + script + "</script>\n" + tail, script: script, style: style)
    }

    /// The text between `prefix` and `suffix` when the line (trimmed) is exactly that.
    private static func between(_ line: Substring, _ prefix: String, _ suffix: String) -> Substring? {
        let trimmed = line.drop { $0 == " " }
        guard trimmed.hasPrefix(prefix), trimmed.hasSuffix(suffix), trimmed.count > prefix.count + suffix.count
        else { return nil }
        return trimmed.dropFirst(prefix.count).dropLast(suffix.count)
    }
}
