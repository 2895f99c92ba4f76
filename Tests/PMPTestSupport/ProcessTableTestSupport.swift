import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport

/// Bodies announce the entry id they run as; the test waits for the announcement.
package struct Arrivals: Sendable {
    package let stream: AsyncStream<String>
    package let continuation: AsyncStream<String>.Continuation

    package init() { (stream, continuation) = AsyncStream.makeStream(of: String.self) }

    package func arrive(_ id: String) { continuation.yield(id) }
}

/// Holds bodies until the test opens it.
package struct Gate: Sendable {
    package let stream: AsyncStream<Void>
    package let continuation: AsyncStream<Void>.Continuation

    package init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }

    package func wait() async { for await _ in stream {} }

    /// As `wait()`, but a cancel of the waiting task does not end the wait.
    package func waitIgnoringCancellation() async {
        let stream = stream
        await Task { for await _ in stream {} }.value
    }

    package func open() { continuation.finish() }
}

/// A value tests set from inside bodies and read afterwards.
package final class Observed<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: Value

    package init(_ value: Value) { storage = value }

    package var value: Value {
        get { lock.withLock { storage } }
        set { lock.withLock { storage = newValue } }
    }

    package func update(_ change: (inout Value) -> Void) { lock.withLock { change(&storage) } }
}

package struct TestFailure: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds or `seconds` pass.
package func waitUntil(seconds: Double = 10, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure("timed out after \(seconds) s") }
        try await Task.sleep(for: .milliseconds(1))
    }
}

/// A body step that takes a millisecond and is no cancellation point (a cancelled sleep's error is swallowed), so
/// that only `setStatus` can notice a cancel. It does not block its thread: the test's own tasks need the pool.
package func pauseIgnoringCancellation() async { try? await Task.sleep(for: .milliseconds(1)) }

/// Parses a time as Go and pm write it (RFC 3339, UTC, up to nine fraction digits without trailing zeros) with
/// Foundation, to nanoseconds since 1970; nil for any other form.
package func nanosecondsSinceEpoch(goTime text: String) -> Int64? {
    let goTimePattern = #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z/#
    guard text.wholeMatch(of: goTimePattern) != nil else { return nil }
    let whole = String(text.prefix(19)) + "Z"
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    guard let date = formatter.date(from: whole) else { return nil }
    var nanoseconds = Int64(date.timeIntervalSince1970.rounded()) * 1_000_000_000
    if text.count > 20 {
        let digits = text.dropFirst(20).dropLast()
        nanoseconds += Int64(digits + String(repeating: "0", count: 9 - digits.count))!
    }
    return nanoseconds
}
