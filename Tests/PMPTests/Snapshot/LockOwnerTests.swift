import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import Synchronization
import PMPTestSupport
import Testing

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
