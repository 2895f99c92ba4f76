import Foundation
import PMP
import Synchronization

/// Threads holding a pthread mutex and a Synchronization.Mutex, each with a thread waiting on it.
package final class HeldLocks: @unchecked Sendable {
    private final class SwiftLock: Sendable { let mutex = Mutex(0) }
    private let swiftLock = SwiftLock()
    private var pthreadMutex = pthread_mutex_t()
    package let pthreadHolder: TestThread
    package let pthreadWaiter: TestThread
    package let swiftHolder: TestThread
    package let swiftWaiter: TestThread

    package init() {
        pthread_mutex_init(&pthreadMutex, nil)
        let mutex = withUnsafeMutablePointer(to: &pthreadMutex) { UnsafeSendablePointer(pointer: $0) }
        let swiftLock = self.swiftLock
        pthreadHolder = TestThread { me in
            pthread_mutex_lock(mutex.pointer)
            me.ready()
            me.park()
            pthread_mutex_unlock(mutex.pointer)
        }
        pthreadHolder.waitUntilReady()
        pthreadWaiter = TestThread { me in
            me.ready()
            pthread_mutex_lock(mutex.pointer)
            pthread_mutex_unlock(mutex.pointer)
        }
        pthreadWaiter.waitUntilReady()
        swiftHolder = TestThread { me in
            swiftLock.mutex.withLock { _ in
                me.ready()
                me.park()
            }
        }
        swiftHolder.waitUntilReady()
        swiftWaiter = TestThread { me in
            me.ready()
            swiftLock.mutex.withLock { $0 += 1 }
        }
        swiftWaiter.waitUntilReady()
    }

    package func release() {
        for holder in [pthreadHolder, swiftHolder] { holder.finish() }
        for thread in [pthreadHolder, pthreadWaiter, swiftHolder, swiftWaiter] { thread.waitUntilFinished() }
    }

    /// A snapshot in which both waiters are seen waiting (a loaded machine may take a moment to park them).
    package func snapshot() throws -> Snapshot {
        var snapshot = try PMP.snapshot()
        for _ in 0..<50 {
            let waiting = snapshot.threads.filter { [pthreadWaiter.tid, swiftWaiter.tid].contains($0.tid) }
            if waiting.count == 2, waiting.allSatisfy({ $0.waitReason == .mutexLock }) { break }
            usleep(20_000)
            snapshot = try PMP.snapshot()
        }
        return snapshot
    }
}

package struct UnsafeSendablePointer<T>: @unchecked Sendable {
    package let pointer: UnsafeMutablePointer<T>
}
