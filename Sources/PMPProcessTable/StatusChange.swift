/// One step of an entry's history: the status it took and when.
public struct StatusChange: Sendable, Hashable {
    public let time: WallTime
    public let status: String

    public init(time: WallTime, status: String) {
        self.time = time
        self.status = status
    }
}
