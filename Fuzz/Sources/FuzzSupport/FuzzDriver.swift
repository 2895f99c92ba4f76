import CLibFuzzer
#if canImport(Glibc)
import Glibc
#endif

/// Runs libFuzzer with a target's body: libFuzzer parses its own command line (`-max_total_time=30 CORPUS…`)
/// and calls the body with each input it makes.
///
/// SwiftPM renames an executable's `main` and links it as `main` itself, so the driver is started from the
/// target's top-level code rather than from libFuzzer's own `main`.
public enum FuzzDriver {
    nonisolated(unsafe) fileprivate static var body: ((UnsafeRawBufferPointer) -> Void)?

    public static func run(_ body: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
        Self.body = body
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) })
    }
}

/// libFuzzer's per-input entry point (also what its own `main` would call).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let body = FuzzDriver.body else {
        fatalError("fuzz target started without FuzzDriver.run")
    }
    body(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}
