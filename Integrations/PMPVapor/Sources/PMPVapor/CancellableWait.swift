import NIOCore
import Synchronization

/// Waits for a future, or throws `CancellationError` as soon as the waiting task is cancelled: a future-based
/// responder does not see task cancellation, and a cancelled request must be answered at once.
enum CancellableWait {
    static func value<Value: Sendable>(of future: EventLoopFuture<Value>) async throws -> Value {
        let waiter = Mutex<CheckedContinuation<Value, any Error>?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let cancelled = waiter.withLock { slot -> Bool in
                    if Task.isCancelled { return true }
                    slot = continuation
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
                future.whenComplete { result in waiter.withLock { slot in defer { slot = nil }; return slot }?.resume(with: result) }
            }
        } onCancel: {
            waiter.withLock { slot in defer { slot = nil }; return slot }?.resume(throwing: CancellationError())
        }
    }
}
