import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport

/// A `StackSink` that keeps everything a reader hands it as Strings, and notes any call out of order.
package struct StackRecorder: StackSink {
    package struct RecordedFrame: Equatable, CustomStringConvertible {
        package var function: String
        package var address: UInt64?
        package var file: String?
        package var line: Int?
        package var image: String?
        package var inlined: Bool

        package init(function: String, address: UInt64? = nil, file: String? = nil, line: Int? = nil,
                     image: String? = nil, inlined: Bool = false) {
            self.function = function
            self.address = address
            self.file = file
            self.line = line
            self.image = image
            self.inlined = inlined
        }

        package var description: String {
            var text = function
            if inlined { text += " [inlined]" }
            if let file { text += " at \(file)" + (line.map { ":\($0)" } ?? "") }
            return text
        }
    }

    package struct RecordedStack: Equatable {
        package var format: DumpFormat
        package var threadName: String?
        package var state: String?
        package var process: String?
        package var count: Int
        package var frames: [RecordedFrame] = []
        /// The dump (0, 1, …) the stack was read in.
        package var dump: Int

        package var functions: [String] { frames.map(\.function) }
    }

    package init() {}

    package private(set) var stacks: [RecordedStack] = []
    package private(set) var dumps: [DumpFormat] = []
    /// Calls out of order (a frame outside a stack, a stack ended twice, …).
    package private(set) var violations: [String] = []
    private var open: RecordedStack?

    package mutating func beginDump(format: DumpFormat) {
        if open != nil { violations.append("dump begun inside a stack") }
        dumps.append(format)
    }

    package mutating func beginStack(format: DumpFormat, threadName: LineBytes?, state: LineBytes?, process: LineBytes?,
                             count: Int) {
        if open != nil { violations.append("stack begun inside a stack") }
        if dumps.isEmpty { violations.append("stack outside any dump") }
        open = RecordedStack(format: format, threadName: threadName.map(Self.string), state: state.map(Self.string),
                             process: process.map(Self.string), count: count, dump: dumps.count - 1)
    }

    package mutating func frame(function: LineBytes, address: UInt64?, file: LineBytes?, line: Int?, image: LineBytes?,
                        inlined: Bool) {
        guard open != nil else {
            violations.append("frame outside a stack: \(Self.string(function))")
            return
        }
        open!.frames.append(RecordedFrame(function: Self.string(function), address: address, file: file.map(Self.string),
                                          line: line, image: image.map(Self.string), inlined: inlined))
    }

    package mutating func endStack() {
        guard let stack = open else {
            violations.append("stack ended twice")
            return
        }
        stacks.append(stack)
        open = nil
    }

    private static func string(_ bytes: LineBytes) -> String { String(decoding: bytes, as: UTF8.self) }
}

/// What feeding an input line by line to one reader gave.
package struct ReaderRun {
    package var recorder = StackRecorder()
    package var consumed = 0
    package var malformed = 0
    package var ended = 0
    /// Lines no claim took while the reader was idle.
    package var unclaimed = 0
    /// A line the reader claimed and then refused at once (it would be offered for ever).
    package var refusedClaims = 0

    package var stacks: [StackRecorder.RecordedStack] { recorder.stacks }
}

/// Drives a `DumpReader` the way the aggregator does: an idle reader gets a line when its format claims it; the
/// prefix length the claim reports is cut from that line and from the following ones until the reader answers
/// `.ended`; then the line is offered to the claim again. The same reader value stays for the whole input.
package enum ReaderDriver {
    package static func run<Reader: DumpReader>(_ type: Reader.Type, lines: [[UInt8]]) -> ReaderRun {
        var run = ReaderRun()
        var reader = Reader()
        var prefix: Int?
        for var line in lines {
            if line.last == 0x0D { line.removeLast() }
            line.withUnsafeBufferPointer { line in
                if let length = prefix {
                    let outcome = reader.feed(LineScan.slice(line, min(length, line.count)..<line.count), into: &run.recorder)
                    switch outcome {
                    case .consumed: run.consumed += 1; return
                    case .malformed: run.malformed += 1; return
                    case .ended: run.ended += 1; prefix = nil
                    }
                }
                guard let start = Reader.claim(line) else {
                    run.unclaimed += 1
                    return
                }
                prefix = start
                switch reader.feed(LineScan.suffix(line, from: start), into: &run.recorder) {
                case .consumed: run.consumed += 1
                case .malformed: run.malformed += 1
                case .ended:
                    run.refusedClaims += 1
                    prefix = nil
                }
            }
        }
        reader.finish(into: &run.recorder)
        return run
    }

    package static func run<Reader: DumpReader>(_ type: Reader.Type, text: String) -> ReaderRun {
        run(type, lines: lines(of: Array(text.utf8)))
    }

    /// The lines of `bytes`, split at "\n" (a last line without one included).
    package static func lines(of bytes: [UInt8]) -> [[UInt8]] {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }
}

/// The fixtures under Tests/Fixtures/.
package enum ReaderFixture {
    package static let directory = TestPaths.fixtures

    package static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(path)))
    }

    package static func text(_ path: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)
    }

    /// The fixture's lines as Strings (without terminators).
    package static func lines(_ path: String) throws -> [String] {
        var lines = try text(path).components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
