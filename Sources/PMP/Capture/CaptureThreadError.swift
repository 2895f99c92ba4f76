/// The capture thread did not get to a job in time: it is busy with others for longer than the caller waits,
/// or stuck. The job still runs when the thread gets to it; its result is dropped.
public enum CaptureThreadError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Nothing came back within the wait limit.
    case notResponding(waited: Duration)
    /// Too many jobs are already waiting for the thread.
    case overloaded(queued: Int)

    public var description: String {
        switch self {
        case .notResponding(let waited):
            return "the capture thread is not responding (no answer within \(waited))"
        case .overloaded(let queued):
            return "the capture thread is not responding (\(queued) requests already waiting for it)"
        }
    }
}
