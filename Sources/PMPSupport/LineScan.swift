#if canImport(Glibc)
import Glibc
#endif

/// Byte-level scanning inside one line, shared by the dump readers and the dump grammar: positions are offsets
/// into the line, no String is made, no regex runs. Inlinable: the readers' hot loops call it per byte.
package enum LineScan {
    package typealias Bytes = UnsafeBufferPointer<UInt8>

    /// The bytes of `range` as a line of their own.
    @inlinable @inline(__always)
    package static func slice(_ line: Bytes, _ range: Range<Int>) -> Bytes {
        Bytes(start: line.baseAddress.map { $0 + range.lowerBound }, count: range.count)
    }

    /// The bytes from `start` to the end of the line.
    @inlinable @inline(__always)
    package static func suffix(_ line: Bytes, from start: Int) -> Bytes {
        slice(line, start..<line.count)
    }

    /// The first `byte` at or after `start` (memchr).
    @inlinable @inline(__always)
    package static func firstIndex(of byte: UInt8, in line: Bytes, from start: Int = 0) -> Int? {
        guard start < line.count, let base = line.baseAddress else { return nil }
        guard let found = memchr(base + start, Int32(byte), line.count - start) else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    /// The last `byte` in `start..<end`.
    @inlinable @inline(__always)
    package static func lastIndex(of byte: UInt8, in line: Bytes, from start: Int = 0, before end: Int? = nil) -> Int? {
        var index = (end ?? line.count) - 1
        while index >= start {
            if line[index] == byte { return index }
            index -= 1
        }
        return nil
    }

    /// True when `text` stands at `offset`.
    @inlinable @inline(__always)
    package static func matches(_ line: Bytes, _ text: StaticString, at offset: Int) -> Bool {
        let count = text.utf8CodeUnitCount
        guard offset >= 0, offset + count <= line.count, let base = line.baseAddress else { return false }
        return memcmp(base + offset, text.utf8Start, count) == 0
    }

    /// True when the line starts with `text`.
    @inlinable @inline(__always)
    package static func hasPrefix(_ line: Bytes, _ text: StaticString) -> Bool {
        matches(line, text, at: 0)
    }

    /// True when the line ends with `text`.
    @inlinable @inline(__always)
    package static func hasSuffix(_ line: Bytes, _ text: StaticString) -> Bool {
        matches(line, text, at: line.count - text.utf8CodeUnitCount)
    }

    /// The first occurrence of `text` starting in `start..<end` (it may run past `end`).
    @inlinable
    package static func find(_ text: StaticString, in line: Bytes, from start: Int = 0, before end: Int? = nil) -> Int? {
        let count = text.utf8CodeUnitCount
        guard count > 0 else { return start }
        let first = text.utf8Start.pointee
        let limit = min(end ?? line.count, line.count - count + 1)
        var index = start
        while index < limit {
            guard let candidate = firstIndex(of: first, in: line, from: index), candidate < limit else { return nil }
            if matches(line, text, at: candidate) { return candidate }
            index = candidate + 1
        }
        return nil
    }

    /// The last occurrence of `text` lying wholly inside `start..<end`.
    @inlinable
    package static func findLast(_ text: StaticString, in line: Bytes, from start: Int = 0, before end: Int? = nil) -> Int? {
        let count = text.utf8CodeUnitCount
        guard count > 0 else { return end ?? line.count }
        let first = text.utf8Start.pointee
        var index = min((end ?? line.count), line.count) - count
        while index >= max(start, 0) {
            // The first byte alone rules out almost every position: memcmp only on a candidate.
            if line[index] == first, matches(line, text, at: index) { return index }
            index -= 1
        }
        return nil
    }

    /// The first offset at or after `start` that is not a space or tab.
    @inlinable @inline(__always)
    package static func skipBlanks(_ line: Bytes, from start: Int) -> Int {
        var index = start
        while index < line.count, line[index] == 0x20 || line[index] == 0x09 { index += 1 }
        return index
    }

    /// The end of the line with trailing spaces and tabs left off.
    @inlinable @inline(__always)
    package static func endTrimmingBlanks(_ line: Bytes, from start: Int = 0) -> Int {
        var end = line.count
        while end > start, line[end - 1] == 0x20 || line[end - 1] == 0x09 { end -= 1 }
        return end
    }

    /// True when the line has nothing but spaces and tabs.
    @inlinable @inline(__always)
    package static func isBlank(_ line: Bytes) -> Bool {
        skipBlanks(line, from: 0) == line.count
    }

    @inlinable @inline(__always)
    package static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

    /// A decimal number at `start` (at most 18 digits): its value and the offset after it.
    @inlinable @inline(__always)
    package static func decimal(_ line: Bytes, from start: Int) -> (value: Int, end: Int)? {
        var index = start
        var value = 0
        while index < line.count, index - start < 18 {
            let digit = line[index] &- 0x30
            guard digit < 10 else { break }
            value = value * 10 + Int(digit)
            index += 1
        }
        return index > start ? (value, index) : nil
    }

    /// Hex digits at `start` (without `0x`, at most 16): the value and the offset after them.
    @inlinable @inline(__always)
    package static func hexadecimal(_ line: Bytes, from start: Int) -> (value: UInt64, end: Int)? {
        var index = start
        var value: UInt64 = 0
        while index < line.count, index - start < 16 {
            let byte = line[index]
            let digit: UInt8
            if byte &- 0x30 < 10 {
                digit = byte &- 0x30
            } else if (byte | 0x20) &- 0x61 < 6 {
                digit = (byte | 0x20) &- 0x61 &+ 10
            } else {
                break
            }
            value = value << 4 | UInt64(digit)
            index += 1
        }
        return index > start ? (value, index) : nil
    }

    /// The line as a String (for tests and messages; never on the hot path).
    @inlinable
    package static func string(_ line: Bytes) -> String {
        String(decoding: line, as: UTF8.self)
    }
}
