#if canImport(Glibc)
import Glibc
#endif
import CElfutils
import CPMPCapture
import PMP

/// Unwinds threads of another process from their copies, after they run again: libdwfl's unwinder with this
/// process's own thread callbacks, which hand it the copied registers and serve stack reads from the copied
/// stack. Unwind tables (`.eh_frame`, `.debug_frame`) are read from each module's file, once per module.
/// A read outside the copy goes to the live process (and is counted: it should hardly ever happen).
final class CopyUnwinder {
    /// What the C callbacks see.
    final class Context {
        let pid: Int32
        var current: ThreadCopy?
        let registers = UnsafeMutablePointer<Dwarf_Word>.allocate(capacity: 17)
        var frames: [UInt64] = []
        var maxFrames = 256
        var liveReads = 0

        init(pid: Int32) { self.pid = pid }
        deinit { registers.deallocate() }
    }

    private let dwfl: OpaquePointer?
    private let callbacks: UnsafeMutablePointer<Dwfl_Callbacks>
    private let threadCallbacks: UnsafeMutablePointer<Dwfl_Thread_Callbacks>
    private let context: Context
    private(set) var attached = false

    var liveReads: Int { context.liveReads }

    init(pid: Int32, maxFrames: Int) {
        context = Context(pid: pid)
        context.maxFrames = maxFrames
        callbacks = .allocate(capacity: 1)
        callbacks.initialize(to: Dwfl_Callbacks(
            find_elf: dwfl_linux_proc_find_elf,
            // By build id only: unwinding needs the tables in the binaries; never a download.
            find_debuginfo: dwfl_build_id_find_debuginfo,
            section_address: dwfl_offline_section_address,
            debuginfo_path: nil))
        threadCallbacks = .allocate(capacity: 1)
        threadCallbacks.initialize(to: Dwfl_Thread_Callbacks(
            next_thread: { _, _, _ in 0 },
            get_thread: { _, tid, argument, threadArgument in
                let context = Unmanaged<Context>.fromOpaque(argument!).takeUnretainedValue()
                guard let copy = context.current, copy.tid == tid else { return false }
                threadArgument?.pointee = UnsafeMutableRawPointer(context.registers)
                return true
            },
            memory_read: { _, address, result, argument in
                let context = Unmanaged<Context>.fromOpaque(argument!).takeUnretainedValue()
                return CopyUnwinder.read(context, address, result!)
            },
            set_initial_registers: { thread, argument in
                let registers = argument!.assumingMemoryBound(to: Dwarf_Word.self)
                return dwfl_thread_state_registers(thread!, 0, 17, registers)
            },
            detach: nil,
            thread_detach: nil))
        dwfl = dwfl_begin(callbacks)
        guard let dwfl else { return }
        dwfl_report_begin(dwfl)
        ProcessModules.report(dwfl, pid: pid)
        _ = dwfl_report_end(dwfl, nil, nil)
        attached = dwfl_attach_state(dwfl, nil, pid, threadCallbacks, Unmanaged.passUnretained(context).toOpaque())
    }

    deinit {
        if let dwfl { dwfl_end(dwfl) }
        callbacks.deallocate()
        threadCallbacks.deallocate()
    }

    /// The thread's return addresses, leaf (the interrupted pc) first.
    func unwind(_ copy: ThreadCopy) -> (addresses: [UInt64], truncated: Bool) {
        let r = copy.registers
        guard let dwfl, attached else { return ([r.rip], false) }
        // DWARF register numbers of x86_64: rax rdx rcx rbx rsi rdi rbp rsp r8…r15, then the return address (rip).
        let dwarfOrder = [r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12,
                          r.r13, r.r14, r.r15, r.rip]
        for (index, value) in dwarfOrder.enumerated() { context.registers[index] = value }
        context.current = copy
        context.frames.removeAll(keepingCapacity: true)
        defer { context.current = nil }
        _ = dwfl_getthread_frames(dwfl, copy.tid, { frame, argument in
            let context = Unmanaged<CopyUnwinder.Context>.fromOpaque(argument!).takeUnretainedValue()
            var pc: Dwarf_Addr = 0
            var activation = false
            guard dwfl_frame_pc(frame!, &pc, &activation) else { return Int32(DWARF_CB_ABORT) }
            // A zero return address ends the chain (the outermost frame of a thread).
            if pc == 0 { return Int32(DWARF_CB_ABORT) }
            context.frames.append(pc)
            return Int32(context.frames.count >= context.maxFrames ? DWARF_CB_ABORT : DWARF_CB_OK)
        }, Unmanaged.passUnretained(context).toOpaque())
        if context.frames.isEmpty { context.frames.append(r.rip) }
        return (context.frames, context.frames.count >= context.maxFrames)
    }

    /// A word of the thread's memory: from the stack copy, else from the live process.
    private static func read(_ context: Context, _ address: Dwarf_Addr, _ result: UnsafeMutablePointer<Dwarf_Word>) -> Bool {
        if let copy = context.current, address >= copy.stackBase, address &- copy.stackBase <= UInt64(copy.stack.count) &- 8,
           copy.stack.count >= 8 {
            let offset = Int(address - copy.stackBase)
            result.pointee = copy.stack.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
            return true
        }
        context.liveReads += 1
        var word: UInt64 = 0
        let got = pmp_attach_read(context.pid, address, &word, 8)
        guard got == 8 else { return false }
        result.pointee = word
        return true
    }
}
