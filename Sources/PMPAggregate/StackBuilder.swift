import PMPProfiles
import PMPSupport
/// The `StackSink` one reader feeds: collects the current stack's frame ids and hands the finished stack to the
/// shared `StackTable`. Each reader has its own, so stacks of different formats may be open at the same time.
/// Bounds what one stack costs: frames past the frame limit and name bytes past `AggregateOptions.nameLimit`
/// are cut here, as they arrive, and counted.
struct StackBuilder: StackSink {
    private let table: StackTable
    /// [state id, process id, frame ids leaf first…]: the stack's key, built in place.
    private var key: [Int32] = [-1, -1]
    /// The source location id of each frame in `key` (-1 without one), when the table keeps locations.
    private var locations: [Int32] = []
    private var state: Int32 = -1
    private var open = false
    private var frameCount = 0
    private var droppedFrames = 0
    private var count = 1
    /// A frame could not be interned (the table is full and the frame is new): the stack cannot be kept.
    private var incomplete = false
    private let maxFrames: Int
    private let byState: Bool
    private let perProcess: Bool
    private let kinds: StackKinds
    private var isTask = false
    private let keepsLocations: Bool

    init(table: StackTable) {
        self.table = table
        maxFrames = table.options.frameLimit
        byState = table.options.byState
        perProcess = table.options.perProcess
        kinds = table.options.kinds
        keepsLocations = table.keepsLocations
        key.reserveCapacity(64)
        if keepsLocations { locations.reserveCapacity(64) }
    }

    var frameLimit: Int { maxFrames }

    mutating func framesDropped(_ count: Int) {
        if open { droppedFrames += max(0, count) }
    }

    mutating func beginDump(format: DumpFormat) {
        table.countDump(format)
    }

    mutating func beginStack(format: DumpFormat, threadName: LineBytes?, state: LineBytes?, process: LineBytes?,
                             count: Int) {
        begin(task: false, state: state, process: process, count: count)
    }

    mutating func beginTaskStack(format: DumpFormat, state: LineBytes?, process: LineBytes?) {
        begin(task: true, state: state, process: process, count: 1)
    }

    private mutating func begin(task: Bool, state: LineBytes?, process: LineBytes?, count: Int) {
        if open { endStack() }
        guard task ? kinds.includesTasks : kinds.includesThreads else {
            // Not asked for: its frames are read past.
            table.countLeftOut(task: task, count: max(1, count))
            return
        }
        open = true
        isTask = task
        key.removeLast(key.count - 2)
        locations.removeAll(keepingCapacity: true)
        self.state = table.internState(state.map(bounded))
        // A task and a thread never fold together, whatever their frames.
        key[0] = byState ? self.state : (task ? -2 : -1)
        key[1] = perProcess ? table.internProcess(process.map(bounded)) : -1
        self.count = max(1, count)
        frameCount = 0
        droppedFrames = 0
        incomplete = false
    }

    mutating func frame(function: LineBytes, address: UInt64?, file: LineBytes?, line: Int?, image: LineBytes?,
                        inlined: Bool) {
        guard open else { return }
        guard frameCount < maxFrames else {
            droppedFrames += 1
            return
        }
        frameCount += 1
        let file = file.map(bounded)
        let id = table.internFrame(function: bounded(function), address: address, file: file, line: line,
                                   image: image.map(bounded), inlined: inlined)
        if id < 0 {
            incomplete = true
        } else {
            key.append(id)
            if keepsLocations { locations.append(table.internLocation(file: file, line: line)) }
        }
    }

    mutating func endStack() {
        guard open else { return }
        open = false
        let frames = key.count - 2
        let count = count, incomplete = incomplete
        if droppedFrames > 0 { table.countCut(droppedFrames: droppedFrames) }
        let state = state, isTask = isTask
        key.withUnsafeBytes { key in
            locations.withUnsafeBufferPointer { locations in
                table.addStack(key: key, frames: frames, count: count, incomplete: incomplete, state: state,
                               locations: locations, task: isTask)
            }
        }
    }

    /// `name`, cut to `AggregateOptions.nameLimit` bytes at a UTF-8 character boundary (counted when cut).
    @inline(__always)
    private func bounded(_ name: LineBytes) -> LineBytes {
        guard name.count > AggregateOptions.nameLimit else { return name }
        var end = AggregateOptions.nameLimit
        while end > 0, name[end] & 0xC0 == 0x80 { end -= 1 }
        table.countTruncatedName()
        return LineScan.slice(name, 0..<end)
    }
}
