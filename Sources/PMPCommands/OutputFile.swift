import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// Writing command output.
enum OutputFile {
    /// Writes `bytes` to `path`, or to standard output for "-". Text from an endpoint (`isText`) reaches standard
    /// output with its control characters escaped (`TerminalText`), since it may be a terminal; a file gets the
    /// bytes as they came.
    static func write(_ bytes: [UInt8], to path: String, isText: Bool) throws {
        if path == "-" {
            try AggregateArguments.write(isText ? TerminalText.escaped(bytes: bytes) : bytes, to: STDOUT_FILENO,
                                         name: "standard output")
            return
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CommandFailure("\(path): cannot write: \(AggregateArguments.errorText())") }
        defer { close(descriptor) }
        try AggregateArguments.write(bytes, to: descriptor, name: path)
    }

    /// "12.3 KB", "1.5 MB", "512 bytes".
    static func size(_ count: Int) -> String {
        if count < 1024 { return "\(count) bytes" }
        if count < 1_048_576 { return "\((Double(count) / 102.4).rounded() / 10) KB" }
        return "\((Double(count) / 104_857.6).rounded() / 10) MB"
    }
}
