import Foundation
@testable import PMPServer
import PMPTestSupport
import Testing

/// The web UI's files as files: each script passes `node --check`, every file is embedded, and the served page
/// is them, inline, with the policy's hashes matching what is inline.
@Suite("web UI files") struct WebUIFilesTests {
    static let pageDirectory = TestPaths.file("Sources/PMPServer/WebUI/Page")

    static func files(endingWith suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: pageDirectory.path).filter { $0.hasSuffix(suffix) }.sorted()
    }

    @Test("every script passes node --check")
    func scriptsParse() throws {
        let scripts = try Self.files(endingWith: ".js")
        #expect(scripts.count >= 5, "\(scripts)")
        for script in scripts {
            let run = try ToolRun.run("/usr/bin/env", ["node", "--check", Self.pageDirectory.appendingPathComponent(script).path])
            #expect(run.status == 0, "\(script): \(run.stderr)")
        }
    }

    @Test("every file beside index.html is embedded and referred to by it, byte for byte what is on disk")
    func everyFileEmbedded() throws {
        let onDisk = Set(try Self.files(endingWith: ".js") + Self.files(endingWith: ".css"))
        #expect(Set(WebUIPage.files.keys) == onDisk)
        let index = try String(contentsOf: Self.pageDirectory.appendingPathComponent("index.html"), encoding: .utf8)
        for name in onDisk {
            #expect(index.contains("\"\(name)\""), "index.html refers to \(name)")
            let bytes = try [UInt8](Data(contentsOf: Self.pageDirectory.appendingPathComponent(name)))
            #expect(WebUIPage.files[name] == bytes, "\(name) embedded as on disk")
        }
    }

    @Test("the served page has its style sheet and scripts inline, once each, and the policy names their hashes")
    func servedPageInline() throws {
        let html = WebUI.html
        #expect(!html.contains("<script src") && !html.contains("<link"))
        #expect(html.components(separatedBy: "<script>").count == 2)
        #expect(html.components(separatedBy: "<style>").count == 2)
        let script = try #require(html.components(separatedBy: "<script>").last?.components(separatedBy: "</script>").first)
        let style = try #require(html.components(separatedBy: "<style>").last?.components(separatedBy: "</style>").first)
        #expect(script.hasPrefix("\n(function () {\n\"use strict\";\n") && script.hasSuffix("})();\n"))
        for name in WebUIPage.files.keys where name.hasSuffix(".js") {
            #expect(script.contains(String(decoding: WebUIPage.files[name]!, as: UTF8.self)), "\(name) inline")
        }
        #expect(WebUI.contentSecurityPolicy.contains("script-src 'sha256-\(ContentHash.sha256Base64(script))'"))
        #expect(WebUI.contentSecurityPolicy.contains("style-src 'sha256-\(ContentHash.sha256Base64(style))'"))
    }

    @Test("scripts in index.html keep their order in the one inline script")
    func scriptOrder() {
        let assembled = WebUIPage.assemble(
            index: "<head>\n<link rel=\"stylesheet\" href=\"s.css\">\n</head>\n<script src=\"b.js\"></script>\n"
                + "<script src=\"a.js\"></script>\n</html>\n",
            files: ["s.css": Array("p {}\n".utf8), "a.js": Array("A;\n".utf8), "b.js": Array("B;\n".utf8)])
        #expect(assembled.html == "<head>\n<style>\np {}\n</style>\n</head>\n<script>\n(function () {\n\"use strict\";\nB;\nA;\n})();\n</script>\n</html>\n")
        #expect(assembled.style == "\np {}\n")
    }
}
