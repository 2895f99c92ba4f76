/// What answers may take on the server's loop, all connections together: the bytes of answers written but not
/// yet taken by the system, and the captures in progress. A request that would go beyond either waits here, in
/// the order it came, until clients read or captures end (its handler timeout still runs).
/// Loop-only: every call is made on the server's event loop.
final class AnswerBudget {
    let maxUnsentBytes: Int
    let maxCaptures: Int
    private(set) var unsentBytes = 0
    private(set) var capturesRunning = 0
    private var waiting: [HTTPConnectionHandler] = []
    private var waking = false
    private var wakeAgain = false

    init(maxUnsentBytes: Int, maxCaptures: Int) {
        self.maxUnsentBytes = max(1, maxUnsentBytes)
        self.maxCaptures = max(1, maxCaptures)
    }

    func mayStart(capture: Bool) -> Bool {
        unsentBytes < maxUnsentBytes && (!capture || capturesRunning < maxCaptures)
    }

    var waitingCount: Int { waiting.count }

    func wait(_ handler: HTTPConnectionHandler) {
        if !waiting.contains(where: { $0 === handler }) { waiting.append(handler) }
    }

    func stopWaiting(_ handler: HTTPConnectionHandler) {
        waiting.removeAll { $0 === handler }
    }

    func captureStarted() { capturesRunning += 1 }

    func captureEnded() {
        capturesRunning = max(0, capturesRunning - 1)
        wake()
    }

    func sending(_ bytes: Int) { unsentBytes += bytes }

    func sent(_ bytes: Int) {
        unsentBytes = max(0, unsentBytes - bytes)
        wake()
    }

    /// Lets waiting requests start, first come first, as far as the budget allows. A request that starts may
    /// write at once, which comes back here: that turn is taken by the loop below instead of recursing.
    private func wake() {
        if waking {
            wakeAgain = true
            return
        }
        waking = true
        defer { waking = false }
        repeat {
            wakeAgain = false
            var index = 0
            while index < waiting.count {
                let handler = waiting[index]
                if mayStart(capture: handler.waitsForCapture) {
                    waiting.remove(at: index)
                    handler.budgetAllows()
                } else {
                    index += 1
                }
            }
        } while wakeAgain
    }
}
