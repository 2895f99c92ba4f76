import PMPSupport
/// The log prefix in front of a dump's lines ("2026-11-26T20:51:01.123Z info app : "), learned from the line
/// that opened the dump. Prefixes of later lines differ in their timestamps, so they are matched by their last
/// characters after the final digit (" info app : "), at the learned length or a little before or after it.
struct LogPrefix {
    /// The learned prefix's length.
    private(set) var length: Int
    /// Its last characters after the final digit (at most `LogPrefix.tailLimit`). Empty for no prefix, and
    /// for a prefix ending in a digit, which is then taken to have a fixed length.
    private var tail: [UInt8]

    /// How far from the learned length a later line's prefix may end.
    static let drift = 24
    static let tailLimit = 16

    static let none = LogPrefix(length: 0, tail: [])

    private init(length: Int, tail: [UInt8]) {
        self.length = length
        self.tail = tail
    }

    /// The prefix of `line`: its first `length` bytes.
    init(of line: LineBytes, length: Int) {
        self.length = length
        guard length > 0 else {
            tail = []
            return
        }
        var start = length
        while start > 0, length - start < Self.tailLimit, !LineScan.isDigit(line[start - 1]) { start -= 1 }
        tail = Array(line[start..<length])
    }

    /// Where the content of `line` starts when it carries a prefix like this one; nil when it does not.
    @inline(__always)
    func contentStart(in line: LineBytes) -> Int? {
        if tail.isEmpty { return line.count >= length ? length : nil }
        if tailEnds(at: length, in: line) { return length }
        for distance in 1...Self.drift {
            if tailEnds(at: length + distance, in: line) { return length + distance }
            if tailEnds(at: length - distance, in: line) { return length - distance }
        }
        return nil
    }

    @inline(__always)
    private func tailEnds(at end: Int, in line: LineBytes) -> Bool {
        let start = end - tail.count
        guard start >= 0, end <= line.count else { return false }
        return tail.withUnsafeBufferPointer { tail in
            var index = 0
            while index < tail.count {
                if line[start + index] != tail[index] { return false }
                index += 1
            }
            return true
        }
    }
}
