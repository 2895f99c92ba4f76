#if canImport(Glibc)
import Glibc
#endif

/// A file of /proc that is there could not be read: out of file descriptors or memory, or not allowed.
public struct ProcReadError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var code: Int32

    public var description: String { "cannot read \(path): \(String(cString: strerror(code)))" }
}
