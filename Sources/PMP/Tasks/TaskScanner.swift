#if canImport(Glibc)
import PMPProfiles
import Glibc
#endif
import CPMPCapture

/// Finds and decodes every live task of this process (or, given a pid, of another): regions from
/// /proc/PID/maps, a scan of resident anonymous memory for the task isa, then a checked decode of each
/// candidate. Its buffers are allocated once, in a mapping of their own that the scan leaves out. Used from
/// one thread at a time (the capture thread).
final class TaskScanner {
    static let chunkSize = 256 * 1024
    static let regionCapacity = 16384
    static let candidateCapacity = 65536
    static let taskCapacity = 32768
    static let frameCapacity = 1 << 20
    static let framesPerTask = 128

    let reader: UnsafeMutablePointer<pmp_memory_reader>
    let runtime: UnsafeMutablePointer<pmp_task_runtime>
    let layout: UnsafePointer<pmp_task_layout>?
    private let workspace: UnsafeMutableRawPointer
    private let workspaceSize: Int
    private let chunk: UnsafeMutablePointer<UInt8>
    private let regions: UnsafeMutablePointer<pmp_region>
    private let candidates: UnsafeMutablePointer<UInt64>
    private let records: UnsafeMutablePointer<pmp_task_record>
    private let frames: UnsafeMutablePointer<UInt64>
    private var regionCount: Int32 = 0

    /// Nil when the buffers could not be mapped.
    init?(pid: pid_t = 0) {
        var size = 0
        func reserve(_ bytes: Int) -> Int {
            let offset = size
            size += (bytes + 4095) & ~4095
            return offset
        }
        // The runtime record holds 64-bit fields: it starts at its own alignment past the 4-byte reader.
        let runtimeAlignment = MemoryLayout<pmp_task_runtime>.alignment
        let runtimeOffset = (MemoryLayout<pmp_memory_reader>.stride + runtimeAlignment - 1) & ~(runtimeAlignment - 1)
        let readerOffset = reserve(runtimeOffset + MemoryLayout<pmp_task_runtime>.stride)
        let chunkOffset = reserve(Self.chunkSize)
        let regionOffset = reserve(Self.regionCapacity * MemoryLayout<pmp_region>.stride)
        let candidateOffset = reserve(Self.candidateCapacity * 8)
        let recordOffset = reserve(Self.taskCapacity * MemoryLayout<pmp_task_record>.stride)
        let frameOffset = reserve(Self.frameCapacity * 8)
        // Pages are only backed when touched: the mapping costs what a capture uses.
        guard let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED
        else { return nil }
        workspace = mapped
        workspaceSize = size
        reader = (mapped + readerOffset).bindMemory(to: pmp_memory_reader.self, capacity: 1)
        reader.pointee = pmp_memory_reader(pid: pid)
        runtime = (mapped + readerOffset + runtimeOffset)
            .bindMemory(to: pmp_task_runtime.self, capacity: 1)
        pmp_task_runtime_read(runtime)
        layout = pmp_task_layout_find(runtime)
        chunk = (mapped + chunkOffset).bindMemory(to: UInt8.self, capacity: Self.chunkSize)
        regions = (mapped + regionOffset).bindMemory(to: pmp_region.self, capacity: Self.regionCapacity)
        candidates = (mapped + candidateOffset).bindMemory(to: UInt64.self, capacity: Self.candidateCapacity)
        records = (mapped + recordOffset).bindMemory(to: pmp_task_record.self, capacity: Self.taskCapacity)
        frames = (mapped + frameOffset).bindMemory(to: UInt64.self, capacity: Self.frameCapacity)
    }

    deinit { munmap(workspace, workspaceSize) }

    var runtimePresent: Bool { runtime.pointee.present != 0 }

    /// The runtime and layout, as the summary line says them: `Swift 6.3 x86_64 (size 208, layout 1)`.
    var layoutDescription: String {
        let size = runtime.pointee.task_size, version = runtime.pointee.layout_version
        let key = "size \(size), layout \(version)\(runtime.pointee.supports_escalation != 0 ? ", escalation" : "")"
        guard let layout else { return "unknown runtime (\(key))" }
        return "\(String(cString: layout.pointee.runtime)) \(String(cString: layout.pointee.arch)) (\(key))"
    }

    /// Reads the memory map again. False when it could not be read.
    @discardableResult
    func refreshRegions() -> Bool {
        var truncated: Int32 = 0
        let count = pmp_read_regions(reader.pointee.pid, regions, Int32(Self.regionCapacity), &truncated)
        guard count >= 0 else { return false }
        regionCount = count
        return true
    }

    struct ScanResult {
        var candidates: [UInt64]
        var stats: pmp_scan_stats
    }

    /// Candidate task addresses in resident anonymous memory, until `deadline` (CLOCK_MONOTONIC ns).
    func scan(deadline: UInt64) -> ScanResult {
        var stats = pmp_scan_stats()
        let skipStart = UInt64(UInt(bitPattern: workspace))
        let count = pmp_tasks_scan(reader, runtime.pointee.task_metadata, regions, regionCount, chunk,
                                   Self.chunkSize, skipStart, skipStart + UInt64(workspaceSize), candidates,
                                   Int32(Self.candidateCapacity), deadline, &stats)
        return ScanResult(candidates: Array(UnsafeBufferPointer(start: candidates, count: Int(count))), stats: stats)
    }

    enum Decoded {
        case rejected
        case completed
        case live(RawTask)
    }

    /// Decodes the task at each address (full layout when `full`, else the compiler-ABI fields only).
    func decode(_ addresses: [UInt64], full: Bool, into tasks: inout [RawTask]) -> (completed: Int, rejected: Int) {
        var decoder = pmp_task_decoder(reader: UnsafePointer(reader), layout: full ? layout : nil,
                                       runtime: UnsafePointer(runtime), regions: UnsafePointer(regions),
                                       region_count: regionCount, frames: frames,
                                       frame_capacity: Int32(Self.frameCapacity), frame_used: 0,
                                       max_frames_per_task: Int32(Self.framesPerTask), skip_function: 0)
        var completed = 0, rejected = 0
        for (index, address) in addresses.enumerated() {
            let record = records + (index % Self.taskCapacity)
            switch pmp_task_decode(&decoder, address, record) {
            case Int32(PMP_TASK_LIVE):
                tasks.append(Self.rawTask(record.pointee, frames: frames))
            case Int32(PMP_TASK_COMPLETED): completed += 1
            default: rejected += 1
            }
            decoder.frame_used = 0  // its frames were copied out
        }
        return (completed, rejected)
    }

    /// The resume functions of an async context chain (a running task's, from its thread's context register).
    func contextChain(_ context: UInt64) -> [UInt64] {
        var buffer = [UInt64](repeating: 0, count: Self.framesPerTask)
        let count = buffer.withUnsafeMutableBufferPointer {
            pmp_task_context_chain(reader, regions, regionCount, context, $0.baseAddress, Int32(Self.framesPerTask))
        }
        return Array(buffer.prefix(Int(count)))
    }

    /// The isa word at `address` (an actor's type metadata), or 0.
    func readWord(_ address: UInt64) -> UInt64 {
        var value: UInt64 = 0
        return pmp_memory_read(reader, address, &value, 8) == 0 ? value : 0
    }

    private static func rawTask(_ record: pmp_task_record, frames: UnsafeMutablePointer<UInt64>) -> RawTask {
        var record = record
        let name: String? = record.name_address == 0 ? nil : withUnsafeBytes(of: &record.name) { bytes in
            String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let taskFrames = Array(UnsafeBufferPointer(start: frames + Int(record.frame_start), count: Int(record.frame_count)))
        return RawTask(address: record.address, id: record.id, jobFlags: record.job_flags,
                       statusFlags: record.status_flags, resumeFunction: record.resume_function,
                       resumeContext: record.resume_context, entryFunction: record.entry_function,
                       parent: record.parent, group: record.group, basePriority: record.base_priority,
                       dependencyKind: record.dependency_kind, dependencyTarget: record.dependency_target,
                       name: name, frames: taskFrames, framesTruncated: record.frames_truncated != 0,
                       changed: record.changed != 0)
    }
}
