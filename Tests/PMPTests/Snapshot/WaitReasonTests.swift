@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

@Suite("wait reasons") struct WaitReasonTests {
    func classify(_ state: String, _ functions: [String]) -> WaitReason {
        WaitReasonClassifier.classify(kernelState: state, functions: functions)
    }

    @Test func glibcWaits() {
        #expect(classify("S", ["__futex_abstimed_wait_common64", "__futex_abstimed_wait_common",
                               "__pthread_cond_wait_common", "pthread_cond_wait@@GLIBC_2.3.2", "app.f()"]) == .conditionWait)
        #expect(classify("S", ["futex_wait", "__GI___lll_lock_wait", "__pthread_mutex_lock@GLIBC_2.2.5"]) == .mutexLock)
        #expect(classify("S", ["clock_nanosleep@GLIBC_2.2.5", "__nanosleep", "sleep"]) == .sleep)
        #expect(classify("S", ["__GI___libc_read", "read", "app.readLoop()"]) == .read)
        #expect(classify("S", ["epoll_wait", "CNIOLinux_epoll_wait"]) == .eventLoop)
        #expect(classify("S", ["accept4", "app.serve()"]) == .accept)
        #expect(classify("S", ["__new_sem_wait_slow64.constprop.0", "sem_wait"]) == .semaphoreWait)
    }

    @Test func poolThreadsParkedAreIdle() {
        #expect(classify("S", ["__futex_abstimed_wait_common", "__new_sem_wait_slow64.constprop.0",
                               "_dispatch_sema4_timedwait", "_dispatch_semaphore_wait_slow",
                               "_dispatch_worker_thread", "start_thread"]) == .idle)
        // A pool thread running a job that blocks is not idle.
        #expect(classify("S", ["__GI___lll_lock_wait", "pthread_mutex_lock", "app.job()",
                               "_dispatch_root_queue_drain", "_dispatch_worker_thread"]) == .mutexLock)
    }

    @Test("Swift's Synchronization.Mutex and futex-based unfair locks are mutex locks, not a bare syscall")
    func swiftAndFutexLocks() {
        // As symbolized from a real waiter: glibc's syscall(2) under the Mutex's slow path.
        #expect(classify("S", ["syscall", "Synchronization._MutexHandle._lockSlow(Swift.UInt32) -> ()",
                               "static pmp_demo.Workers.blockedOnSwiftMutex() -> ()"]) == .mutexLock)
        #expect(classify("S", ["syscall", "_MutexHandle._lockSlow(_:)", "Workers.blockedOnSwiftMutex()"]) == .mutexLock)
        #expect(classify("S", ["syscall", "_swift_stdlib_futex_lock", "app.f()"]) == .mutexLock)
        #expect(classify("S", ["syscall", "_dispatch_unfair_lock_lock_slow", "_dispatch_once_wait"]) == .mutexLock)
        // NIOLock and ManagedCriticalState are pthread mutexes on Linux.
        #expect(classify("S", ["__GI___lll_lock_wait", "___pthread_mutex_lock", "NIOConcurrencyHelpers.NIOLock.lock() -> ()"])
                == .mutexLock)
        // A bare syscall with nothing known above it stays one.
        #expect(classify("S", ["syscall", "app.customFutex()"]) == .syscall)
    }

    @Test("a parked main thread is not `blocked`: sleep, pause, sigsuspend as glibc names them, dispatchMain")
    func parkedMainThread() {
        #expect(classify("S", ["__GI___sigsuspend", "main"]) == .signalWait)
        #expect(classify("S", ["__libc_pause", "main"]) == .signalWait)
        #expect(classify("S", ["clock_nanosleep@GLIBC_2.2.5", "__nanosleep", "sleep", "main"]) == .sleep)
        let dispatchMain = ["__GI___sigsuspend", "_dispatch_sigsuspend", "_dispatch_sig_thread",
                            "__nptl_deallocate_tsd", "__pthread_exit", "dispatch_main", "main"]
        #expect(classify("S", dispatchMain) == .mainQueueIdle)
        #expect(!WaitReason.mainQueueIdle.isBlocked)
    }

    @Test func kernelStateDecides() {
        #expect(classify("R", ["app.spin()", "main"]) == .running)
        #expect(classify("T", ["read"]) == .stopped)
        #expect(classify("D", ["app.f()"]) == .diskWait)
        #expect(classify("S", ["app.f()"]) == .blocked)
        #expect(classify("S", ["__futex_abstimed_wait_common", "app.customLock()"]) == .futexWait)
    }
}
