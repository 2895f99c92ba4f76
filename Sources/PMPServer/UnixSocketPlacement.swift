#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Puts the server's unix socket at its path without a moment in which another user could connect: binding
/// creates the socket file with the process's umask (often 0755, so connectable by everyone), and a `chmod`
/// after it leaves a window. So the socket is bound inside a new directory that only this user can enter (mode
/// 0700, next to the path, so on the same file system), made 0600 there, and renamed into place.
enum UnixSocketPlacement {
    static func bind(_ path: String, _ bindAt: (String) throws -> any Channel) throws -> any Channel {
        var existing = stat()
        if lstat(path, &existing) == 0, existing.st_mode & S_IFMT != S_IFSOCK {
            throw IOError(errnoCode: EEXIST, reason: "\(path) exists and is not a socket")
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var template = Array("\(directory)/.pmp-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else { throw IOError(errnoCode: errno, reason: "mkdtemp in \(directory)") }
        let privateDirectory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let temporaryPath = privateDirectory + "/s"
        defer {
            _ = unlink(temporaryPath)
            _ = rmdir(privateDirectory)
        }
        let channel = try bindAt(temporaryPath)
        // Only the owner may connect: the socket is as good as a token for this user's processes.
        guard chmod(temporaryPath, 0o600) == 0 else {
            let code = errno
            channel.close(promise: nil)
            throw IOError(errnoCode: code, reason: "chmod \(temporaryPath)")
        }
        // Atomically replaces a stale socket left at the path.
        guard rename(temporaryPath, path) == 0 else {
            let code = errno
            channel.close(promise: nil)
            throw IOError(errnoCode: code, reason: "rename to \(path)")
        }
        return channel
    }
}
