import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import Synchronization
import Testing

/// Threads holding a pthread mutex and a Synchronization.Mutex, each with a thread waiting on it.
final class HeldLocks: @unchecked Sendable {
    private final class SwiftLock: Sendable { let mutex = Mutex(0) }
    private let swiftLock = SwiftLock()
    private var pthreadMutex = pthread_mutex_t()
    let pthreadHolder: TestThread
    let pthreadWaiter: TestThread
    let swiftHolder: TestThread
    let swiftWaiter: TestThread

    init() {
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

    func release() {
        for holder in [pthreadHolder, swiftHolder] { holder.finish() }
        for thread in [pthreadHolder, pthreadWaiter, swiftHolder, swiftWaiter] { thread.waitUntilFinished() }
    }

    /// A snapshot in which both waiters are seen waiting (a loaded machine may take a moment to park them).
    func snapshot() throws -> Snapshot {
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

struct UnsafeSendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
}

@Suite("lock owners", .timeLimit(.minutes(2))) struct LockOwnerTests {
    @Test("a waiter on a pthread mutex or a Synchronization.Mutex is `mutex lock`, held by the holder's tid")
    func holdersOfHeldLocks() throws {
        let locks = HeldLocks()
        defer { locks.release() }
        let snapshot = try locks.snapshot()
        func thread(_ tid: Int32) throws -> ThreadSnapshot { try #require(snapshot.threads.first { $0.tid == tid }) }

        let pthreadWaiter = try thread(locks.pthreadWaiter.tid)
        #expect(pthreadWaiter.waitReason == .mutexLock)
        #expect(pthreadWaiter.heldBy?.tid == locks.pthreadHolder.tid, "\(pthreadWaiter.frames.map(\.function))")
        #expect(pthreadWaiter.heldBy?.name == (try thread(locks.pthreadHolder.tid)).name)

        let swiftWaiter = try thread(locks.swiftWaiter.tid)
        #expect(swiftWaiter.waitReason == .mutexLock, "Swift's Mutex: \(swiftWaiter.frames.map(\.function))")
        #expect(swiftWaiter.heldBy?.tid == locks.swiftHolder.tid)

        // Nobody else claims a holder: not the holders (they park), not threads in other waits.
        for other in snapshot.threads where ![locks.pthreadWaiter.tid, locks.swiftWaiter.tid].contains(other.tid) {
            #expect(other.heldBy == nil || other.waitReason == .mutexLock, "\(other.name): \(other.waitReason)")
        }
        #expect(try thread(locks.pthreadHolder.tid).heldBy == nil)
        #expect(try thread(locks.swiftHolder.tid).heldBy == nil)
    }
}
