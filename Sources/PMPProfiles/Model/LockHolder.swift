/// The thread that holds the lock a thread waits for, when the lock's memory names it.
public struct LockHolder: Sendable, Hashable, Codable {
    public var tid: Int32
    /// Its name in the same capture (registered or kernel name); nil when it could not be found.
    public var name: String?

    public init(tid: Int32, name: String? = nil) {
        self.tid = tid
        self.name = name
    }
}
