import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

@Suite("SVG flame graph") struct FlameGraphTests {
    /// One frame as read back from the SVG by an XML parser.
    struct ParsedFrame {
        var title = ""
        var x = 0.0, y = 0.0, width = 0.0, height = 0.0
        var fill = ""
        var label = ""

        /// "name (N samples, P%)" split up.
        var name: String { String(title[..<title.range(of: " (", options: .backwards)!.lowerBound]) }
        var count: Int { Int(title[title.range(of: " (", options: .backwards)!.upperBound...].prefix { $0.isNumber })! }
        var percent: Double {
            let tail = title[title.range(of: ", ", options: .backwards)!.upperBound...]
            return Double(tail.dropLast(2))!
        }
    }

    /// Reads the SVG with Foundation's XMLParser (which fails on anything that is not well-formed XML).
    final class Reader: NSObject, XMLParserDelegate {
        var frames: [ParsedFrame] = []
        var texts: [String] = []
        var elements: [String: Int] = [:]
        var attributes: [String] = []
        var rootSize: (Double, Double)?
        private var current: ParsedFrame?
        private var path: [String] = []
        private var characters = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String]) {
            path.append(name)
            elements[name, default: 0] += 1
            self.attributes += attributes.map { "\($0.key)=\($0.value)" }
            characters = ""
            if name == "svg" { rootSize = (Double(attributes["width"] ?? "") ?? 0, Double(attributes["height"] ?? "") ?? 0) }
            if name == "g", attributes["class"] == "f" { current = ParsedFrame() }
            if name == "rect", current != nil {
                current!.x = Double(attributes["x"] ?? "") ?? -1
                current!.y = Double(attributes["y"] ?? "") ?? -1
                current!.width = Double(attributes["width"] ?? "") ?? -1
                current!.height = Double(attributes["height"] ?? "") ?? -1
                current!.fill = attributes["fill"] ?? ""
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { characters += string }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {}

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            path.removeLast()
            if name == "title", current != nil { current!.title = characters }
            if name == "text" {
                if current != nil { current!.label = characters } else { texts.append(characters) }
            }
            if name == "g", let frame = current {
                frames.append(frame)
                current = nil
            }
            characters = ""
        }
    }

    static func read(_ svg: String) throws -> Reader {
        let parser = XMLParser(data: Data(svg.utf8))
        let reader = Reader()
        parser.delegate = reader
        let parsed = parser.parse()
        try #require(parsed, "not well-formed XML: \(String(describing: parser.parserError)) at line \(parser.lineNumber)")
        return reader
    }

    /// Expected frame counts: root-first paths merged by name, as "name@depth under parent path" → count.
    static func expectedCounts(_ profile: Profile, labels: (Profile.Stack) -> [String] = { _ in [] }) -> [String: Int] {
        var counts: [String: Int] = [:]
        for stack in profile.stacks {
            var path = "all"
            counts[path, default: 0] += stack.count
            for name in labels(stack) + stack.frames.reversed().map(\.function) {
                path += ";" + name
                counts[path, default: 0] += stack.count
            }
        }
        return counts
    }

    /// Paths of the parsed frames, rebuilt from geometry: a frame's parent is the frame one row below that covers it.
    static func paths(_ frames: [ParsedFrame]) -> [String: Int] {
        var paths: [String: Int] = [:]
        let rows = Dictionary(grouping: frames.indices, by: { frames[$0].y })
        func path(_ index: Int) -> String {
            let frame = frames[index]
            guard let below = rows[frame.y + 16]?.first(where: {
                frames[$0].x <= frame.x + 0.02 && frames[$0].x + frames[$0].width >= frame.x + frame.width - 0.02
            }) else { return frame.name }
            return path(below) + ";" + frame.name
        }
        for index in frames.indices { paths[path(index), default: 0] += frames[index].count }
        return paths
    }

    @Test("every stack's frames are there, with titles giving counts and percentages, widths in proportion")
    func framesAndTitles() throws {
        let profile = RendererTestProfiles.sample
        let reader = try Self.read(FlameGraphRenderer.render(profile))
        #expect(Self.paths(reader.frames) == Self.expectedCounts(profile))
        let root = try #require(reader.frames.first { $0.name == "all" })
        #expect(root.title == "all (428 samples, 100%)")
        #expect(abs(root.width - 1180) < 0.01)
        for frame in reader.frames {
            #expect(abs(frame.width / root.width - Double(frame.count) / 428) < 0.0001, "\(frame.title)")
            #expect(abs(frame.percent - Double(frame.count) * 100 / 428) <= 0.005, "\(frame.title)")
            #expect(frame.x >= root.x - 0.01 && frame.x + frame.width <= root.x + root.width + 0.01)
        }
        let wait = try #require(reader.frames.first { $0.name == "pthread_cond_wait@@GLIBC_2.3.2" })
        #expect(wait.title == "pthread_cond_wait@@GLIBC_2.3.2 (300 samples, 70.09%)")
        #expect(reader.frames.first { $0.name == "?" }?.title == "? (8 samples, 1.87%)", "the two unknown frames under main")
        #expect(wait.y < root.y, "the root is at the bottom")
    }

    @Test("names are escaped: <, >, & and quotes come back intact from the XML parser")
    func escaping() throws {
        let profile = RendererTestProfiles.sample
        let svg = FlameGraphRenderer.render(profile, options: RenderOptions(byThread: true, title: "<b>profile</b> & \"more\""))
        let reader = try Self.read(svg)
        #expect(reader.frames.contains { $0.title == "std::map<int, int>::find(int const&) (7 samples, 1.64%)" })
        #expect(reader.frames.contains { $0.title == "{a & b \"c\"} (7 samples, 1.64%)" })
        #expect(reader.texts.contains("<b>profile</b> & \"more\""))
        #expect(svg.contains("std::map&lt;int, int&gt;::find(int const&amp;)"))
        #expect(svg.contains("{a &amp; b &quot;c&quot;}"))
        #expect(!svg.contains("<b>"))
        let controls = Profile(stacks: [Profile.Stack(frames: [Frame(address: 1, function: "bell\u{7}\ttab\u{FFFE}", image: "x")], count: 1)])
        let read = try Self.read(FlameGraphRenderer.render(controls))
        #expect(read.frames.contains { $0.name == "bell\u{FFFD} tab\u{FFFD}" })
    }

    @Test("labels fit their boxes: whole, cut with \"..\", or empty")
    func labels() throws {
        let long = String(repeating: "VeryLongFunctionName.", count: 20)
        let profile = Profile(stacks: [
            Profile.Stack(frames: [Frame(address: 1, function: long, image: "x"), RendererTestProfiles.main], count: 600),
            Profile.Stack(frames: [Frame(address: 2, function: "narrow_function", image: "x"), RendererTestProfiles.main], count: 4),
            Profile.Stack(frames: [Frame(address: 3, function: "medium_function_name_here", image: "x"), RendererTestProfiles.main], count: 40),
        ])
        let reader = try Self.read(FlameGraphRenderer.render(profile))
        for frame in reader.frames {
            let name = frame.name
            if frame.label.isEmpty {
                #expect(frame.width < 6 + 3 * FlameGraphRenderer.characterWidth + 0.01 || name.isEmpty, "\(frame.title)")
            } else if frame.label == name {
                #expect(Double(name.count) * FlameGraphRenderer.characterWidth + 6 <= frame.width + 0.01)
            } else {
                #expect(frame.label.hasSuffix(".."), "\(frame.label)")
                #expect(name.hasPrefix(String(frame.label.dropLast(2))))
                #expect(Double(frame.label.count) * FlameGraphRenderer.characterWidth + 6 <= frame.width + 0.01)
            }
        }
        #expect(reader.frames.first { $0.name == long }?.label.hasSuffix("..") == true)
        #expect(reader.frames.first { $0.name == "narrow_function" }?.label == "")
        #expect(reader.frames.first { $0.name == "main" }?.label == "main")
    }

    @Test("warm colours by name, the same for the same function; wait states and threads stand apart")
    func colours() throws {
        let profile = RendererTestProfiles.twoProcesses
        let reader = try Self.read(FlameGraphRenderer.render(profile, options: RenderOptions(byState: true, byThread: true)))
        func rgb(_ fill: String) -> (Int, Int, Int) {
            let parts = fill.dropFirst(4).dropLast().split(separator: ",").compactMap { Int($0) }
            return (parts[0], parts[1], parts[2])
        }
        let functions = reader.frames.filter { !$0.name.hasPrefix("[") && !$0.name.hasPrefix("{") && !$0.name.hasPrefix("process ") && $0.name != "all" }
        #expect(functions.count > 6)
        for frame in functions {
            let (red, green, blue) = rgb(frame.fill)
            #expect(red >= 200 && red > green && green > blue, "warm: \(frame.title) \(frame.fill)")
        }
        for (name, group) in Dictionary(grouping: reader.frames, by: \.name) {
            #expect(Set(group.map(\.fill)).count == 1, "one colour for \(name)")
        }
        let states = reader.frames.filter { $0.name.hasPrefix("[") }
        #expect(Set(states.map(\.name)) == ["[condition wait]", "[I/O wait (event loop)]", "[running]"])
        for frame in states {
            let (red, _, blue) = rgb(frame.fill)
            #expect(blue > red, "cool: \(frame.title) \(frame.fill)")
        }
        // Thread above process, state above thread: process 100 → {worker-#} → [condition wait] → main.
        let paths = Self.paths(reader.frames)
        #expect(paths["all;process 100;{worker-#};[condition wait];main;closure #1 (Swift.Int) -> () in static App.Worker.run(at: [Swift.String]) -> ()"] == 300)
        #expect(paths["all;process 200;{worker-#};[condition wait];main"] == 100)
    }

    @Test("frames narrower than 0.1 px are left out, with what is above them; the total still counts them")
    func narrowFrames() throws {
        let profile = Profile(stacks: [
            Profile.Stack(frames: [Frame(address: 1, function: "busy", image: "x"), RendererTestProfiles.main], count: 1_000_000),
            Profile.Stack(frames: [Frame(address: 2, function: "rare_leaf", image: "x"), Frame(address: 3, function: "rare", image: "x"),
                                   RendererTestProfiles.main], count: 50),
            Profile.Stack(frames: [Frame(address: 4, function: "visible", image: "x"), RendererTestProfiles.main], count: 200),
        ])
        let reader = try Self.read(FlameGraphRenderer.render(profile))
        #expect(Set(reader.frames.map(\.name)) == ["all", "main", "busy", "visible"])
        #expect(reader.frames.first { $0.name == "all" }?.count == 1_000_250)
        #expect(reader.frames.first { $0.name == "visible" }.map { $0.width >= 0.1 } == true)
    }

    @Test("self-contained: no external scripts, styles, fonts or images")
    func selfContained() throws {
        let svg = FlameGraphRenderer.render(RendererTestProfiles.sample)
        let reader = try Self.read(svg)
        #expect(reader.elements["script"] == 1)
        #expect(!reader.attributes.contains { $0.hasPrefix("href=") || $0.hasPrefix("src=") || $0.hasPrefix("xlink:href=") })
        #expect(reader.attributes.filter { $0.contains("http") } == ["xmlns=http://www.w3.org/2000/svg"])
        #expect(!svg.contains("@import") && !svg.contains("url(") && !svg.contains("@font-face"))
        #expect(reader.elements["image"] == nil && reader.elements["foreignObject"] == nil)
        #expect(reader.frames.allSatisfy { !$0.title.isEmpty }, "a title on every frame")
    }

    @Test("the inline script zooms: a clicked frame fills the width, its callers span it dimmed, others hide; the root zooms out")
    func zoomScript() throws {
        let file = ToolRun.temporaryFile(".svg")
        defer { try? FileManager.default.removeItem(at: file) }
        let svg = FlameGraphRenderer.render(RendererTestProfiles.sample)
        try svg.write(to: file, atomically: true, encoding: .utf8)
        let closure = "closure #1 (Swift.Int) -> () in static App.Worker.run(at: [Swift.String]) -> ()"
        let script = ToolRun.fixtures("flamegraph").appendingPathComponent("zoom.js")
        let run = try ToolRun.run("/usr/bin/env", ["node", script.path, file.path, "NIOPosix.SelectableEventLoop.run() throws -> ()", "all"])
        try #require(run.status == 0, "node failed: \(run.stderr)")
        struct State: Decodable {
            var name: String
            var x, width: Double
            var label: String
            var hidden, dimmed: Bool
        }
        let states = try run.stdout.split(separator: "\n").map { try JSONDecoder().decode([State].self, from: Data($0.utf8)) }
        try #require(states.count == 2)
        let zoomed = Dictionary(uniqueKeysWithValues: states[0].map { ($0.name, $0) })
        for name in ["NIOPosix.SelectableEventLoop.run() throws -> ()", "epoll_wait"] {
            #expect(zoomed[name].map { abs($0.x - 10) < 0.01 && abs($0.width - 1180) < 0.01 && !$0.hidden && !$0.dimmed } == true, "\(name)")
        }
        #expect(zoomed["epoll_wait"]?.label == "epoll_wait")
        let loop = "NIOPosix.SelectableEventLoop.run() throws -> ()"
        #expect(try Self.read(svg).frames.first { $0.name == loop }?.label.hasSuffix("..") == true, "cut as drawn")
        #expect(zoomed[loop]?.label == loop, "whole once zoomed")
        for name in ["main", "all"] {
            #expect(zoomed[name].map { abs($0.width - 1180) < 0.01 && $0.dimmed && !$0.hidden } == true, "\(name)")
        }
        for name in [closure, "pthread_cond_wait@@GLIBC_2.3.2", "std::map<int, int>::find(int const&)", "?"] {
            #expect(zoomed[name]?.hidden == true, "\(name)")
        }
        // Zoomed out: as drawn.
        let drawn = try Self.read(svg).frames
        for (state, frame) in zip(states[1], drawn) {
            #expect(abs(state.x - frame.x) < 0.01 && abs(state.width - frame.width) < 0.01 && !state.hidden && !state.dimmed, "\(state.name)")
            #expect(state.label == frame.label, "\(state.name)")
        }
    }

    @Test("an empty profile is a valid SVG that says so")
    func empty() throws {
        let reader = try Self.read(FlameGraphRenderer.render(RendererTestProfiles.empty))
        #expect(reader.frames.isEmpty)
        #expect(reader.texts.contains("No samples"))
        #expect(reader.rootSize.map { $0.0 > 0 && $0.1 > 0 } == true)
    }

    @Test("past maxFrames the narrowest frames are left out, never one below a frame that is kept, and the subtitle says so")
    func frameBudget() throws {
        let profile = RendererTestProfiles.sample
        let full = try Self.read(FlameGraphRenderer.render(profile))
        let cut = try Self.read(FlameGraphRenderer.render(profile, maxFrames: 6))
        #expect(full.frames.count == 9)
        #expect(cut.frames.count == 6)
        let widest = full.frames.map(\.count).sorted(by: >)
        #expect(cut.frames.map(\.count).sorted(by: >) == Array(widest.prefix(6)))
        let expected = Self.expectedCounts(profile)
        for (path, count) in Self.paths(cut.frames) {
            #expect(path.hasPrefix("all"), "\(path) stands on the root")
            #expect(expected[path] == count, "\(path)")
        }
        #expect(cut.texts.contains { $0.contains("px and narrower left out") })
        #expect(!full.texts.contains { $0.contains("left out") })
    }

    @Test("20 000 distinct stacks 200 deep render quickly to a bounded SVG")
    func huge() throws {
        let profile = RendererTestProfiles.huge
        let clock = ContinuousClock()
        var svg = ""
        let renderTime = clock.measure { svg = FlameGraphRenderer.render(profile, options: RenderOptions(byState: true, byThread: true)) }
        let reader = try Self.read(svg)
        print("flame graph: \(profile.stacks.count) stacks rendered in \(renderTime) to \(svg.utf8.count) bytes, \(reader.frames.count) frames")
        #expect(renderTime < .seconds(60))
        #expect(reader.frames.first { $0.name == "all" }?.count == profile.sampleCount)
        #expect(reader.frames.count == FlameGraphRenderer.defaultMaxFrames)
        #expect(reader.frames.allSatisfy { $0.width >= 0.1 - 0.005 })
        #expect(reader.texts.contains { $0.contains("px and narrower left out") })
        let height = try #require(reader.rootSize?.1)
        // Stacks share their first 8 levels and are alone above: kept frames reach well above the shared part.
        #expect(height > 16 * 30, "deep stacks make a tall graph")
        // Every kept frame stands on a kept frame: paths rebuilt from the geometry all reach the root.
        #expect(Self.paths(reader.frames).keys.allSatisfy { $0.hasPrefix("all") })
    }
}
