#if canImport(Glibc)
import Glibc
#endif
import PMP
import Synchronization

/// Threads blocked in known ways, each in a function of its own name, so that a dump can be checked.
enum Workers {
    enum Kind: String, CaseIterable {
        case condition = "cond"
        case mutex = "mutex"
        case sleep = "sleep"
        case pipeRead = "read"
        case busy = "busy"
    }

    nonisolated(unsafe) static var condition = pthread_cond_t()
    nonisolated(unsafe) static var conditionMutex = pthread_mutex_t()
    nonisolated(unsafe) static var contendedMutex = pthread_mutex_t()
    nonisolated(unsafe) static var pipeFDs: [Int32] = [-1, -1]
    nonisolated(unsafe) static var sink: UInt64 = 0
    /// Posted by each lock holder once it holds its lock, so that no waiter starts before the lock is taken.
    nonisolated(unsafe) static var holding = sem_t()
    /// Swift's own lock (a PI futex on Linux), held for ever by "swift-lock-holder".
    static let swiftMutex = Mutex<UInt64>(0)
    /// Threads waiting on `swiftMutex`.
    static let swiftMutexWaiters = 2

    static func prepare() {
        pthread_cond_init(&condition, nil)
        pthread_mutex_init(&conditionMutex, nil)
        pthread_mutex_init(&contendedMutex, nil)
        pipeFDs.withUnsafeMutableBufferPointer { _ = pipe($0.baseAddress!) }
        // One thread holds the contended mutex for ever (it sleeps while holding it).
        sem_init(&holding, 0, 0)
        startThread(name: "lock-holder") { holdingMutexWhileSleeping() }
        // And one holds a Synchronization.Mutex, with waiters of its own.
        startThread(name: "swift-lock-holder") { holdingSwiftMutexWhileSleeping() }
        for _ in 0..<2 { while sem_wait(&holding) != 0 {} }
        for index in 0..<swiftMutexWaiters {
            startThread(name: "swift-mutex-\(index)") { blockedOnSwiftMutex() }
        }
    }

    static func start(_ kind: Kind, index: Int) {
        startThread(name: "\(kind.rawValue)-\(index)") {
            switch kind {
            case .condition: blockedInConditionWait()
            case .mutex: blockedOnMutexLock()
            case .sleep: sleepingInNanosleep()
            case .pipeRead: blockedInPipeRead()
            case .busy: spinningOnCPU()
            }
        }
    }

    @inline(never) static func blockedInConditionWait() {
        pthread_mutex_lock(&conditionMutex)
        while true { pthread_cond_wait(&condition, &conditionMutex) }
    }

    @inline(never) static func blockedOnMutexLock() {
        while true {
            pthread_mutex_lock(&contendedMutex)
            pthread_mutex_unlock(&contendedMutex)
        }
    }

    @inline(never) static func holdingMutexWhileSleeping() {
        pthread_mutex_lock(&contendedMutex)
        sem_post(&holding)
        while true { sleepingInNanosleep() }
    }

    @inline(never) static func holdingSwiftMutexWhileSleeping() {
        swiftMutex.withLock { value in
            sem_post(&holding)
            var request = timespec(tv_sec: 3600, tv_nsec: 0)
            while true {
                value &+= 1
                nanosleep(&request, nil)
            }
        }
    }

    @inline(never) static func blockedOnSwiftMutex() {
        // Taken and given back in a loop: a waiter that got there before the holder does not keep it.
        while true { swiftMutex.withLock { $0 &+= 1 } }
    }

    @inline(never) static func sleepingInNanosleep() {
        var request = timespec(tv_sec: 3600, tv_nsec: 0)
        while true { nanosleep(&request, nil) }
    }

    @inline(never) static func blockedInPipeRead() {
        var byte: UInt8 = 0
        while true {
            if read(pipeFDs[0], &byte, 1) == 0 { sleepingInNanosleep() }
        }
    }

    @inline(never) static func spinningOnCPU() {
        var value: UInt64 = 1
        while true {
            for _ in 0..<1_000_000 { value = value &* 6364136223846793005 &+ 1442695040888963407 }
            sink = value
        }
    }

    /// Starts a detached thread with a small stack (1000 of them stay cheap) that registers its name.
    static func startThread(name: String, _ body: @escaping () -> Void) {
        let box = Unmanaged.passRetained(Body(name: name, body))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 256 * 1024)
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            PMP.registerCurrentThread(name: body.name)
            body.run()
            return nil
        }, box.toOpaque())
        pthread_attr_destroy(&attributes)
        if result != 0 {
            box.release()
            fatalError("pmp-demo: pthread_create failed: \(String(cString: strerror(result)))")
        }
        pthread_detach(thread)
    }

    private final class Body {
        let name: String
        let run: () -> Void
        init(name: String, _ run: @escaping () -> Void) {
            self.name = name
            self.run = run
        }
    }
}
