import CPMPCapture
import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport

/// A raw pthread for tests, with its kernel id, a chosen stack size, and a way to release it.
package final class TestThread: @unchecked Sendable {
    package private(set) var tid: Int32 = 0
    private let started = DispatchSemaphore(value: 0)
    private let body: @Sendable (TestThread) -> Void
    private let release = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    package init(stackSize: Int = 1 << 20, _ body: @escaping @Sendable (TestThread) -> Void) {
        self.body = body
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, stackSize)
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, &attributes, { raw in
            let me = Unmanaged<TestThread>.fromOpaque(raw!).takeRetainedValue()
            me.tid = pmp_gettid()
            me.body(me)
            me.finished.signal()
            return nil
        }, box)
        precondition(result == 0)
        pthread_attr_destroy(&attributes)
        pthread_detach(thread)
    }

    /// Called by the body once it is in place.
    package func ready() { started.signal() }
    /// Waits for `ready()` and then until the kernel reports the thread asleep (parked where the test put it).
    package func waitUntilReady() {
        started.wait()
        for _ in 0..<400 {
            if let stat = ThreadStat.read(tid: tid), stat.state != "R" { return }
            usleep(5_000)
        }
    }
    /// Called by the body to block until `finish()`.
    package func park() { release.wait() }
    package func finish() { release.signal() }
    package func waitUntilFinished() { finished.wait() }

    /// A started thread parked in `parkedInTestFunction`, a function of known name and file.
    package static func parkedInKnownFunction() -> TestThread {
        let thread = TestThread { me in
            me.ready()
            parkedInTestFunction(me)
        }
        thread.waitUntilReady()
        return thread
    }
}

/// Where `TestThread.parkedInKnownFunction()` parks: tests look for this name and this file in stacks.
@inline(never) package func parkedInTestFunction(_ thread: TestThread) {
    thread.park()
}
