import CPMPCapture
import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport

/// A raw pthread for tests, with its kernel id, a chosen stack size, and a way to release it.
final class TestThread: @unchecked Sendable {
    private(set) var tid: Int32 = 0
    private let started = DispatchSemaphore(value: 0)
    private let body: @Sendable (TestThread) -> Void
    private let release = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(stackSize: Int = 1 << 20, _ body: @escaping @Sendable (TestThread) -> Void) {
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
    func ready() { started.signal() }
    /// Waits for `ready()` and then until the kernel reports the thread asleep (parked where the test put it).
    func waitUntilReady() {
        started.wait()
        for _ in 0..<400 {
            if let stat = ThreadStat.read(tid: tid), stat.state != "R" { return }
            usleep(5_000)
        }
    }
    /// Called by the body to block until `finish()`.
    func park() { release.wait() }
    func finish() { release.signal() }
    func waitUntilFinished() { finished.wait() }

    /// A started thread parked in `parkedInTestFunction`, a function of known name and file.
    static func parkedInKnownFunction() -> TestThread {
        let thread = TestThread { me in
            me.ready()
            parkedInTestFunction(me)
        }
        thread.waitUntilReady()
        return thread
    }
}
