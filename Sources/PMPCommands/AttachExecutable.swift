#if canImport(Glibc)
import Glibc
#endif

/// `pmp dump --pid` and `pmp record --pid` run `pmp-attach`, which holds the ptrace dumper and the unwinder:
/// pmp itself links neither. It is looked for beside pmp's own executable, then on PATH.
enum AttachExecutable {
    static let name = "pmp-attach"

    /// The path of pmp-attach, or nil.
    static func find() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 {
            let own = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = own.lastIndex(of: "/") {
                let beside = String(own[...slash]) + name
                if access(beside, X_OK) == 0 { return beside }
            }
        }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = directory + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Replaces this process with `pmp-attach ARGUMENTS…`; returns only by throwing.
    static func exec(_ arguments: [String]) throws -> Never {
        guard let path = find() else {
            throw CommandFailure("\(name) is missing: --pid needs it beside pmp or on PATH (swift build --product "
                                 + "\(name), or tools/install, puts it there)")
        }
        let argv = ([name] + arguments).map { strdup($0) } + [nil]
        execv(path, argv)
        let code = errno
        throw CommandFailure("cannot run \(path): \(String(cString: strerror(code)))")
    }
}
