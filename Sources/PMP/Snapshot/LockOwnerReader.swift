#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture
import PMPProfiles

/// Finds who holds the lock a thread waits for, from the registers its capture handler saw and the lock's memory:
///
/// - a waiter parked in the futex system call has the futex word's address in the first argument register and
///   the operation in the second (the kernel restarts the call after the handler, so the call-number register
///   holds futex's number and the leaf is the system-call instruction itself);
/// - a PI futex (FUTEX_LOCK_PI: Swift's `Synchronization.Mutex` on Linux, PI pthread mutexes) keeps the owner's
///   tid in the word's low 30 bits;
/// - a glibc `pthread_mutex_t` keeps it in `__owner`, 8 bytes past its lock word (x86_64 and aarch64).
///
/// Memory is read with process_vm_readv, never dereferenced: a stale or wrong address cannot fault. An owner
/// that is not a thread of this process is not reported.
enum LockOwnerReader {
    private static let futexPrivateFlag: Int32 = 128
    private static let futexRealtimeFlag: Int32 = 256
    private static let futexWait: Int32 = 0
    private static let futexWaitBitset: Int32 = 9
    private static let futexLockPI: Int32 = 6
    private static let futexLockPI2: Int32 = 13
    private static let futexTIDMask: UInt32 = 0x3fff_ffff
    /// Offset of `__owner` in glibc's `struct __pthread_mutex_s` on 64-bit targets.
    private static let pthreadOwnerOffset: UInt64 = 8

    /// The tid of the lock's holder, or nil when it cannot be read or is not one of `liveThreads`' (or a live
    /// thread of this process).
    static func holder(addresses: [UInt64], registers: RawCapture.Registers?, functions: some Collection<String>,
                       liveThreads: Set<Int32>) -> Int32? {
        guard let registers, let pc = addresses.first,
              registers.number == UInt64(bitPattern: Int64(pmp_futex_syscall_number())),
              isSystemCallInstruction(at: pc)
        else { return nil }
        let operation = Int32(truncatingIfNeeded: registers.arg1) & ~(futexPrivateFlag | futexRealtimeFlag)
        let word = registers.arg0
        let owner: Int32
        switch operation {
        case futexLockPI, futexLockPI2:
            guard let value: UInt32 = read(at: word) else { return nil }
            owner = Int32(bitPattern: value & futexTIDMask)
        case futexWait, futexWaitBitset:
            // A plain futex names no owner; a glibc mutex does, beside its word.
            guard waitsInPthreadMutex(functions), let value: Int32 = read(at: word &+ pthreadOwnerOffset) else { return nil }
            owner = value
        default:
            return nil
        }
        guard owner > 0, liveThreads.contains(owner) || access("/proc/self/task/\(owner)", F_OK) == 0 else { return nil }
        return owner
    }

    /// pthread_mutex_lock and its variants, near the leaf (not glibc's internal locks, which have no owner field).
    private static func waitsInPthreadMutex(_ functions: some Collection<String>) -> Bool {
        functions.prefix(WaitReasonClassifier.window).contains { function in
            let name = WaitReasonClassifier.baseName(function)
            return name.contains("pthread_mutex_") && name.contains("lock") && !name.contains("unlock")
        }
    }

    private static func isSystemCallInstruction(at pc: UInt64) -> Bool {
        #if arch(x86_64)
        guard let bytes: UInt16 = read(at: pc) else { return false }
        return bytes == 0x050f  // 0f 05: syscall
        #elseif arch(arm64)
        guard let instruction: UInt32 = read(at: pc) else { return false }
        return instruction == 0xd400_0001  // svc #0
        #else
        return false
        #endif
    }

    private static func read<T: FixedWidthInteger>(at address: UInt64) -> T? {
        var value: T = 0
        let result = withUnsafeMutableBytes(of: &value) { pmp_read_own_memory(address, $0.baseAddress, $0.count) }
        return result == 0 ? value : nil
    }
}
