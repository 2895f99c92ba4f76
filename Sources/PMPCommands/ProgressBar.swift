#if canImport(Glibc)
import Glibc
#endif
import PMPAggregate

/// A one-line progress bar on stderr, drawn only when stderr is a terminal, redrawn at most four times a second.
struct ProgressBar {
    private let totalBytes: Int?
    private let enabled: Bool
    private var lastDraw: Double = 0
    private var drawn = false
    static let interval = 0.25
    static let width = 30

    init(totalBytes: Int?, enabled: Bool = isatty(STDERR_FILENO) != 0) {
        self.totalBytes = totalBytes
        self.enabled = enabled
    }

    mutating func update(_ progress: AggregateProgress) {
        guard enabled else { return }
        let now = Self.monotonicSeconds()
        guard now - lastDraw >= Self.interval else { return }
        lastDraw = now
        drawn = true
        StandardError.write("\r\u{1B}[K" + Self.line(progress, totalBytes: totalBytes))
    }

    /// Erases the bar, so the summary and any error start on a clean line.
    mutating func clear() {
        guard drawn else { return }
        drawn = false
        StandardError.write("\r\u{1B}[K")
    }

    /// `[#########.....................]  12.3 MB / 40.0 MB  31%  5120 stacks`
    static func line(_ progress: AggregateProgress, totalBytes: Int?) -> String {
        let stacks = "\(progress.stacks) stacks"
        guard let totalBytes, totalBytes > 0 else { return "\(megabytes(progress.bytes)) read  \(stacks)" }
        let fraction = min(1, Double(progress.bytes) / Double(totalBytes))
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        return "[\(bar)] \(megabytes(progress.bytes)) / \(megabytes(totalBytes))  \(Int(fraction * 100))%  \(stacks)"
    }

    static func megabytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return "\(tenths / 10).\(tenths % 10) MB"
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
