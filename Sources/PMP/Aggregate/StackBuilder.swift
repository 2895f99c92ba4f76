/// The `StackSink` one reader feeds: collects the current stack's frame ids and hands the finished stack to the
/// shared `StackTable`. Each reader has its own, so stacks of different formats may be open at the same time.
struct StackBuilder: StackSink {
    private let table: StackTable
    /// [state id, process id, frame ids leaf first…]: the stack's key, built in place.
    private var key: [Int32] = [-1, -1]
    private var open = false
    private var frameCount = 0
    private var count = 1
    /// A frame could not be interned (the table is full and the frame is new): the stack cannot be kept.
    private var incomplete = false
    private let maxFrames: Int
    private let byState: Bool
    private let perProcess: Bool

    init(table: StackTable) {
        self.table = table
        maxFrames = table.options.maxFrames.map { max(0, $0) } ?? Int.max
        byState = table.options.byState
        perProcess = table.options.perProcess
        key.reserveCapacity(64)
    }

    mutating func beginDump(format: DumpFormat) {
        table.countDump(format)
    }

    mutating func beginStack(format: DumpFormat, threadName: LineBytes?, state: LineBytes?, process: LineBytes?,
                             count: Int) {
        if open { endStack() }
        open = true
        key.removeLast(key.count - 2)
        key[0] = byState ? table.internState(state) : -1
        key[1] = perProcess ? table.internProcess(process) : -1
        self.count = max(1, count)
        frameCount = 0
        incomplete = false
    }

    mutating func frame(function: LineBytes, address: UInt64?, file: LineBytes?, line: Int?, image: LineBytes?,
                        inlined: Bool) {
        guard open, frameCount < maxFrames else { return }
        frameCount += 1
        let id = table.internFrame(function: function, address: address, file: file, line: line, image: image,
                                   inlined: inlined)
        if id < 0 {
            incomplete = true
        } else {
            key.append(id)
        }
    }

    mutating func endStack() {
        guard open else { return }
        open = false
        let frames = key.count - 2
        let count = count, incomplete = incomplete
        key.withUnsafeBytes { table.addStack(key: $0, frames: frames, count: count, incomplete: incomplete) }
    }
}
