import CPMPCapture
import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// Captures in this process, with threads in hard states. Serialized: they share the process's threads.
@Suite("capture engine", .serialized, .timeLimit(.minutes(5))) struct CaptureEngineTests {
    @Test("a parked thread is captured with its own frames")
    func capturesAParkedThread() throws {
        let thread = TestThread.parkedInKnownFunction()
        defer { thread.finish(); thread.waitUntilFinished() }
        let snapshot = try PMP.snapshot(CaptureOptions(threads: .threads([thread.tid])))
        let captured = try #require(snapshot.threads.first)
        #expect(captured.failure == nil)
        #expect(captured.frames.contains { $0.function.contains("parkedInTestFunction") })
        #expect(captured.waitReason == .semaphoreWait || captured.waitReason == .futexWait
            || captured.waitReason == .conditionWait, "\(captured.waitReason)")
    }

    @Test("a thread that blocks the capture signal is reported as such, without waiting for the timeout")
    func blockedSignal() throws {
        let signal = try PMP.snapshot(CaptureOptions(threads: .threads([]))).pid > 0 ? pmp_capture_signal() : 0
        #expect(signal > 0)
        let thread = TestThread { me in
            pmp_block_signal(signal)
            me.ready()
            me.park()
        }
        thread.waitUntilReady()
        defer { thread.finish(); thread.waitUntilFinished() }
        // A timeout longer than the test's time limit: the capture can only return by finding the blocked
        // signal when answers stop coming, not by waiting the timeout out.
        let timeout = Duration.seconds(3600)
        let snapshot = try PMP.snapshot(CaptureOptions(threads: .threads([thread.tid]), timeout: timeout))
        let captured = try #require(snapshot.threads.first)
        #expect(captured.failure == .signalBlocked)
        #expect(captured.waitReason == .noAnswer)
        // Known now: the next capture does not signal it again, and says so.
        let again = try PMP.snapshot(CaptureOptions(threads: .threads([thread.tid]), timeout: timeout))
        #expect(again.threads.first?.failure == .signalBlocked)
    }

    @Test("a thread that has exited is reported as exited")
    func exitedThread() throws {
        // Registered and never unregistered: a registered thread found gone is forgotten.
        let thread = TestThread { me in
            PMP.registerCurrentThread(name: "exits registered")
            me.ready()
        }
        thread.waitUntilFinished()
        for _ in 0..<2000 where access("/proc/self/task/\(thread.tid)", F_OK) == 0 { usleep(5_000) }
        #expect(access("/proc/self/task/\(thread.tid)", F_OK) != 0, "the kernel let the thread go")
        #expect(ThreadRegistry.shared.registered[thread.tid] == "exits registered")
        let raw = try PMP.capture(CaptureOptions(threads: .threads([thread.tid])))
        #expect(ThreadRegistry.shared.registered[thread.tid] == nil)
        // Gone before its stat was read (then omitted), or before the signal (then reported as exited); never
        // captured, never more than once.
        #expect(raw.threads.count <= 1, "\(raw.threads)")
        #expect(raw.threads.allSatisfy { $0.tid == thread.tid && $0.failure == .exited }, "\(raw.threads)")
        #expect(raw.threads.allSatisfy { $0.addresses.isEmpty })
    }

    @Test("recursion 10000 frames deep is capped at the configured depth and marked truncated")
    func deepRecursion() throws {
        let thread = TestThread(stackSize: 256 << 20) { me in
            _ = recurse(10_000, me)
        }
        thread.waitUntilReady()
        defer { thread.finish(); thread.waitUntilFinished() }
        let raw = try PMP.capture(CaptureOptions(threads: .threads([thread.tid]), maxDepth: 64))
        let captured = try #require(raw.threads.first)
        #expect(captured.failure == nil)
        #expect(captured.addresses.count == 64)
        #expect(captured.truncated)
        let snapshot = SnapshotBuilder.build(raw)
        #expect(snapshot.threads[0].truncated)
        #expect(snapshot.threads[0].frames.filter { $0.function.contains("recurse") }.count >= 56)
        let text = DumpRenderer.text(snapshot)
        #expect(text.contains("... truncated at"))
        // The dump carries the short names only: read back, the full name is the short one.
        var shown = snapshot
        shown.threads[0].frames = shown.threads[0].frames.map { Frame(address: $0.address, function: $0.function, file: $0.file,
                                                                      line: $0.line, image: $0.image, inlined: $0.inlined) }
        #expect(DumpParser.parse(text).first?.snapshot == shown)
    }

    @Test("a thread in read() on a pipe, signalled thousands of times, gets its data intact")
    func pipeReadSurvivesSignals() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        let (readFD, writeFD) = (fds[0], fds[1])
        defer { close(readFD) }
        let total = 200_000
        let received = Box<[UInt8]>([])
        let failures = Box<[String]>([])
        let reader = TestThread { me in
            me.ready()
            var buffer = [UInt8](repeating: 0, count: 4096)
            var data: [UInt8] = []
            while data.count < total {
                let n = read(readFD, &buffer, buffer.count)
                if n < 0 {
                    failures.value.append("read failed: errno \(errno)")
                    if errno != EINTR { break }
                    continue
                }
                if n == 0 { break }
                data += buffer[0..<n]
            }
            received.value = data
        }
        reader.waitUntilReady()
        let expected = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
        // The last bytes are held back until the reader has been interrupted often enough: a slow machine (or a
        // sanitizer) takes fewer captures while the rest is written.
        let enough = Box(false)
        let writer = TestThread { me in
            me.ready()
            var offset = 0
            while offset < total {
                let chunk = min(64, total - offset)
                if total - offset <= 64 {
                    for _ in 0..<60_000 where !enough.value { usleep(1000) }
                }
                let n = expected[offset..<(offset + chunk)].withUnsafeBytes { write(writeFD, $0.baseAddress, chunk) }
                if n > 0 { offset += n }
                usleep(50)
            }
            close(writeFD)
        }
        writer.waitUntilReady()
        var captures = 0
        var answered = 0
        while captures < 20_000 {
            let raw = try PMP.capture(CaptureOptions(threads: .threads([reader.tid]), timeout: .milliseconds(50)))
            captures += 1
            if raw.threads.first?.failure == nil, raw.threads.first != nil { answered += 1 }
            if answered >= 1000 { enough.value = true }
            if raw.threads.isEmpty { break }  // the reader finished
        }
        reader.waitUntilFinished()
        writer.waitUntilFinished()
        #expect(failures.value.isEmpty, "\(failures.value.prefix(5))")
        #expect(received.value == expected)
        #expect(answered >= 1000, "the reader was interrupted thousands of times (\(answered) of \(captures) captures)")
    }

    @Test("1 000 captures (200 under a sanitizer) during thread, malloc and dlopen churn: no crash, no hang")
    func churn() throws {
        let stop = Box(false)
        var churners: [TestThread] = []
        // Threads created and exiting as fast as possible.
        churners.append(TestThread { me in
            me.ready()
            while !stop.value {
                var thread = pthread_t()
                if pthread_create(&thread, nil, { _ in nil }, nil) == 0 { pthread_join(thread, nil) }
            }
        })
        // Malloc-heavy.
        for _ in 0..<2 {
            churners.append(TestThread { me in
                me.ready()
                var keep: [[UInt8]] = []
                while !stop.value {
                    keep.append([UInt8](repeating: 1, count: Int.random(in: 16...8192)))
                    if keep.count > 256 { keep.removeFirst(128) }
                }
            })
        }
        // dlopen / dlclose.
        churners.append(TestThread { me in
            me.ready()
            let libraries = ["libz.so.1", "libutil.so.1", "libanl.so.1", "libbz2.so.1.0"]
            while !stop.value {
                for name in libraries {
                    if let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) { dlclose(handle) }
                }
            }
        })
        for thread in churners { thread.waitUntilReady() }
        var answered = 0
        var exited = 0
        // Under a sanitizer every capture and every dlopen costs ten times as much: 200 captures fit the limit.
        let captures = Sanitizer.active == nil ? 1000 : 200
        for index in 0..<captures {
            let raw = try PMP.capture(CaptureOptions(timeout: .milliseconds(100)))
            answered += raw.threads.filter { $0.failure == nil }.count
            exited += raw.threads.filter { $0.failure == .exited }.count
            if index % 100 == 0 { _ = SnapshotBuilder.build(raw) }  // symbolize too, while images come and go
        }
        stop.value = true
        for thread in churners { thread.waitUntilFinished() }
        #expect(answered >= captures * 4, "the churning threads themselves answered")
        _ = exited
    }

    #if arch(x86_64)
    @Test("handlers unwind through swift-pmp's own libunwind address space, not libunwind's local one")
    func ownAddressSpace() throws {
        _ = try PMP.capture(CaptureOptions(threads: .threads([])))
        #expect(pmp_capture_uses_own_address_space() == 1, "libunwind-x86_64.so.8 should be there with libunwind8")
    }
    @Test("libunwind's mask calls are skipped during walks, and every thread keeps its own signal mask")
    func walkMasksOncePerWalk() throws {
        _ = try PMP.capture(CaptureOptions(threads: .threads([])))
        #expect(pmp_capture_masks_redirected() == 1, "libunwind-x86_64.so.8 calls sigprocmask through its PLT")
        // Threads with masks of their own: none blocks the capture signal, each blocks something else.
        let others: [Int32] = [SIGUSR2, SIGHUP, SIGCHLD, pmp_sigrtmax() - 1]
        let threads = others.map { signo in
            TestThread { me in
                pmp_block_signal(signo)
                me.ready()
                me.park()
            }
        }
        for thread in threads { thread.waitUntilReady() }
        defer { for thread in threads { thread.finish(); thread.waitUntilFinished() } }
        let masksBefore = threads.map { blockedSignals(of: $0.tid) }
        let skippedBefore = pmp_capture_masks_skipped()
        for _ in 0..<20 {
            let raw = try PMP.capture(CaptureOptions(threads: .threads(threads.map(\.tid))))
            #expect(raw.threads.allSatisfy { $0.failure == nil && $0.addresses.count >= 3 })
        }
        // Each walk steps through a few frames, each step a lock and two mask calls libunwind would have made.
        #expect(pmp_capture_masks_skipped() - skippedBefore >= UInt64(threads.count * 20 * 2))
        // A thread caught inside a handler shows the handler's mask: look again for a moment before failing.
        var masksAfter = threads.map { blockedSignals(of: $0.tid) }
        for _ in 0..<200 where masksAfter != masksBefore {
            usleep(10_000)
            masksAfter = threads.map { blockedSignals(of: $0.tid) }
        }
        #expect(masksAfter == masksBefore)
        #expect(masksBefore.allSatisfy { $0 != nil && $0 != 0 })
    }

    @Test("a frame chain into a PROT_NONE or an unmapped page ends the walk there, without a fault",
          arguments: [true, false])
    func frameChainIntoUnreadablePage(unmapped: Bool) throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        // Mapped first, so that it cannot take the hole the bad page leaves.
        let code = try #require(mmap(nil, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        defer { munmap(code, page) }
        // A stack of its own (room for the signal frame and the handler) whose next page cannot be read.
        let stackPages = 16
        let stack = try #require(mmap(nil, (stackPages + 1) * page, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        let badPage = stack + stackPages * page
        if unmapped { munmap(badPage, page) } else { mprotect(badPage, page, PROT_NONE) }
        defer { munmap(stack, (stackPages + 1) * page) }
        // Code with no unwind table, so libunwind falls back to the frame chain, and a frame pointer just above
        // the stack pointer (libunwind follows it only within 16 KiB), in the bad page:
        //   push rbp; mov rax, rsp; movabs rsp, top; push rax; movabs rbp, bad+64
        //   1: mov al, [rdi]; test al, al; jz 1b
        //   pop rax; mov rsp, rax; pop rbp; ret
        var bytes: [UInt8] = [0x55, 0x48, 0x89, 0xE0, 0x48, 0xBC]
        withUnsafeBytes(of: UInt64(UInt(bitPattern: badPage) - 64).littleEndian) { bytes += $0 }
        bytes += [0x50, 0x48, 0xBD]
        withUnsafeBytes(of: UInt64(UInt(bitPattern: badPage) + 64).littleEndian) { bytes += $0 }
        bytes += [0x8A, 0x07, 0x84, 0xC0, 0x74, 0xFA, 0x58, 0x48, 0x89, 0xC4, 0x5D, 0xC3]
        bytes.withUnsafeBytes { _ = memcpy(code, $0.baseAddress!, bytes.count) }
        #expect(mprotect(code, page, PROT_READ | PROT_EXEC) == 0)
        typealias Spin = @convention(c) (UnsafePointer<UInt8>) -> Void
        let spin = unsafeBitCast(code, to: Spin.self)
        let stop = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        stop.initialize(to: 0)
        defer { stop.deallocate() }
        let stopAddress = UInt(bitPattern: stop)
        let spinner = TestThread { me in
            me.ready()
            spin(UnsafePointer(bitPattern: stopAddress)!)
        }
        for _ in 0..<2000 where spinner.tid == 0 { usleep(1_000) }
        let loopStart = UInt64(UInt(bitPattern: code)) + 25
        var inLoop = 0
        for _ in 0..<200 where inLoop < 20 {
            let raw = try PMP.capture(CaptureOptions(threads: .threads([spinner.tid])))
            let thread = try #require(raw.threads.first)
            if thread.failure == nil, let leaf = thread.addresses.first, leaf >= loopStart, leaf < loopStart + 6 {
                inLoop += 1
                #expect(thread.addresses.count == 1, "nothing past the bad page: \(thread.addresses)")
            }
            usleep(1_000)
        }
        stop.pointee = 1
        spinner.waitUntilFinished()
        // Still a hole (msync fails with ENOMEM on unmapped memory): nothing else was mapped there meanwhile.
        if unmapped { #expect(msync(badPage, page, MS_ASYNC) == -1 && errno == ENOMEM) }
        #expect(inLoop == 20, "the spinner was caught in its loop, on its own stack")
    }
    #endif

    @Test("a thread running inside a library that is loaded and unloaded over and over is unwound through it")
    func libraryComingAndGoing() throws {
        let probe = try #require(dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL), "libcrypt1 is part of Debian's base")
        dlclose(probe)
        let stop = Box(false)
        // Hashes inside a freshly loaded libcrypt (about 5 ms a call), unloading it after every call.
        let hasher = TestThread { me in
            me.ready()
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: 64 << 10, alignment: 16)  // struct crypt_data
            defer { scratch.deallocate() }
            while !stop.value {
                guard let handle = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL) else { break }
                if let symbol = dlsym(handle, "crypt_r") {
                    hashInLoadedLibrary(unsafeBitCast(symbol, to: CryptFunction.self), scratch)
                }
                dlclose(handle)
            }
        }
        // Other libraries in and out, so that address ranges get reused; often interrupted inside the loader.
        let shuffler = TestThread { me in
            me.ready()
            let libraries = ["libgmp.so.10", "libsqlite3.so.0", "libpcre2-8.so.0", "libxxhash.so.0", "libuuid.so.1"]
            while !stop.value {
                for name in libraries {
                    if let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) { dlclose(handle) }
                }
            }
        }
        hasher.waitUntilReady()
        shuffler.waitUntilReady()
        var captures: [RawCapture] = []
        for _ in 0..<400 {
            // A timeout no healthy answer comes near: a thread that does not answer is stuck, not slow.
            captures.append(try PMP.capture(CaptureOptions(threads: .threads([hasher.tid, shuffler.tid]),
                                                           timeout: .seconds(10))))
            usleep(2_000)
        }
        stop.value = true
        hasher.waitUntilFinished()
        shuffler.waitUntilFinished()
        // Symbolized once the libraries stopped moving; the caller lives in this binary, which stays.
        let hasherStacks = captures.compactMap { raw -> [Frame]? in
            let snapshot = SnapshotBuilder.build(raw)
            guard let thread = snapshot.threads.first(where: { $0.tid == hasher.tid }), thread.failure == nil
            else { return nil }
            return thread.frames
        }
        let throughLibrary = hasherStacks.filter { frames in
            frames.contains { $0.function.contains("hashInLoadedLibrary") }
        }
        #expect(hasherStacks.count == captures.count, "the hasher answered (\(hasherStacks.count) of \(captures.count))")
        // About two stacks in three are in crypt_r (the rest wait for the loader lock in dlclose), with either
        // unwinder; a walk that cannot get through libcrypt to its caller finds almost none.
        #expect(throughLibrary.count * 4 >= hasherStacks.count,
                "\(throughLibrary.count) of \(hasherStacks.count) stacks reach the caller of crypt_r")
    }

    @Test("registered-only captures signal registered threads alone, under their names")
    func registeredOnly() throws {
        let thread = TestThread { me in
            PMP.registerCurrentThread(name: "registered worker with a long name")
            me.ready()
            me.park()
            PMP.unregisterCurrentThread()
        }
        thread.waitUntilReady()
        defer { thread.finish(); thread.waitUntilFinished() }
        let snapshot = try PMP.snapshot(CaptureOptions(threads: .registered))
        let mine = snapshot.threads.first { $0.tid == thread.tid }
        #expect(mine?.name == "registered worker with a long name")
        #expect(mine?.failure == nil)
        // Nothing else: not this unregistered test thread, nothing outside the registry.
        let registered = ThreadRegistry.shared.registered
        #expect(snapshot.threads.allSatisfy { registered[$0.tid] != nil }, "\(snapshot.threads.map(\.tid))")
        #expect(!snapshot.threads.contains { $0.tid == ThreadList.currentThreadID() })
    }

    @Test("blocked time grows across captures for a thread without CPU progress")
    func blockedTime() throws {
        let thread = TestThread { me in
            me.ready()
            me.park()
        }
        thread.waitUntilReady()
        defer { thread.finish(); thread.waitUntilFinished() }
        let options = CaptureOptions(threads: .threads([thread.tid]))
        _ = try PMP.snapshot(options)
        usleep(300_000)
        let later = try PMP.snapshot(options)
        let blocked = try #require(later.threads.first?.blockedFor)
        #expect(blocked >= 0.25)
    }
}

final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: T
    init(_ value: T) { _value = value }
    var value: T {
        get { lock.withLock { _value } }
        set { lock.withLock { _value = newValue } }
    }
}

typealias CryptFunction = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?)
    -> UnsafeMutablePointer<CChar>?

@inline(never) func hashInLoadedLibrary(_ crypt: CryptFunction, _ scratch: UnsafeMutableRawPointer) {
    memset(scratch, 0, 64 << 10)
    _ = crypt("password", "$6$rounds=20000$saltsalt$", scratch)
}

@inline(never) func recurse(_ depth: Int, _ thread: TestThread) -> Int {
    if depth == 0 {
        thread.ready()
        thread.park()
        return 0
    }
    return recurse(depth - 1, thread) &+ 1
}

/// The SigBlk mask of a thread of this process, from /proc.
private func blockedSignals(of tid: pid_t) -> UInt64? {
    guard let status = try? String(contentsOfFile: "/proc/self/task/\(tid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigBlk:") })
    else { return nil }
    return UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16)
}

