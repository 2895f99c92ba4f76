import CPMPCapture
import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

@Suite("symbols") struct SymbolizerTests {
    @Test("Swift and C++ names are demangled; plain C names are kept")
    func demangling() {
        #expect(Demangler.demangle("$s8pmp_demo7WorkersO22blockedInConditionWaityyFZ")
            == "static pmp_demo.Workers.blockedInConditionWait() -> ()")
        #expect(Demangler.demangle("_ZNSt6vectorIiSaIiEE9push_backERKi") == "std::vector<int, std::allocator<int> >::push_back(int const&)")
        #expect(Demangler.demangle("pthread_cond_wait") == "pthread_cond_wait")
        #expect(Demangler.demangle("$sgarbage") == "$sgarbage")
    }

    @Test("short names are the ones Swift's crash backtracer prints; the full ones stay available")
    func shortNames() {
        let specialized = Demangler.names("$s8pmp_demo7WorkersO19sleepingInNanosleepyyFZTf4d_n")
        #expect(specialized.short == "specialized static Workers.sleepingInNanosleep()")
        #expect(specialized.full
            == "function signature specialization <Arg[0] = Dead> of static pmp_demo.Workers.sleepingInNanosleep() -> ()")
        let closure = Demangler.names("$s8pmp_demo7WorkersO11startThread4name_ySS_yyctFZSvSgAFcfU_")
        #expect(closure.short == "closure #1 in static Workers.startThread(name:_:)")
        #expect(closure.full == "closure #1 (Swift.Optional<Swift.UnsafeMutableRawPointer>) -> "
            + "Swift.Optional<Swift.UnsafeMutableRawPointer> in static pmp_demo.Workers.startThread(name: Swift.String, "
            + "_: () -> ()) -> ()")
        #expect(Demangler.names("_ZNSt6vectorIiSaIiEE9push_backERKi").short
            == "std::vector<int, std::allocator<int> >::push_back(int const&)")
        #expect(Demangler.names("pthread_cond_wait") == ("pthread_cond_wait", "pthread_cond_wait"))
        #expect(Demangler.names("$sgarbage") == ("$sgarbage", "$sgarbage"))
    }

    @Test("an address of this test binary resolves to a demangled function with file and line")
    func ownFunction() throws {
        let thread = TestThread.parkedInKnownFunction()
        defer { thread.finish(); thread.waitUntilFinished() }
        let raw = try PMP.capture(CaptureOptions(threads: .threads([thread.tid])))
        let frames = Symbolizer.shared.symbolize(try #require(raw.threads.first).addresses)
        let frame = try #require(frames.first { $0.function.contains("parkedInTestFunction") })
        #expect(frame.function == "parkedInTestFunction(_:)")
        #expect(frame.fullFunction == "PMPTestSupport.parkedInTestFunction(PMPTestSupport.TestThread) -> ()")
        #expect(frame.file?.hasSuffix("TestThread.swift") == true)
        #expect(frame.line != nil)
        #expect(frame.image.contains("PackageTests"))
        // libc frames carry the image name.
        #expect(frames.contains { $0.image.hasPrefix("libc.so") })
        // Cached: the same addresses again give the same frames.
        #expect(Symbolizer.shared.symbolize(raw.threads[0].addresses) == frames)
    }

    @Test("symbolizing loads neither libdebuginfod nor libcurl, and reads no compressed debug file's DWARF")
    func noDebuginfodNoCompressedDwarf() throws {
        let thread = TestThread.parkedInKnownFunction()
        defer { thread.finish(); thread.waitUntilFinished() }
        Symbolizer.shared.reset()
        let snapshot = try PMP.snapshot()
        // The Swift runtime has no debug information anywhere: the search for it ends where debuginfod would start.
        let retain = UInt64(UInt(bitPattern: try #require(dlsym(nil, "swift_retain"))))
        let runtime = Symbolizer.shared.symbolize([retain + 1])
        #expect(runtime.first?.function == "swift_retain" && runtime.first?.image.hasPrefix("libswiftCore") == true, "\(runtime)")
        let frames = snapshot.threads.flatMap(\.frames)
        #expect(frames.contains { $0.image.hasPrefix("libc.so") })
        let maps = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
        #expect(!maps.contains("libdebuginfod"), "libdwfl's last-resort debuginfod search was not taken")
        #expect(!maps.contains("libcurl"))
        // glibc's DWARF, where installed, is in a debug file with compressed sections (libc6-dbg), which libdw
        // would decompress whole: its symbols name the frames, its line tables are left alone.
        let libc = frames.filter { $0.image.hasPrefix("libc.so") }
        #expect(libc.allSatisfy { $0.file == nil && !$0.inlined }, "\(libc.filter { $0.file != nil }.prefix(3))")
        #expect(frames.contains { $0.image.hasPrefix("libc.so") && $0.function != "?" })
    }

    @Test("an address no image covers gives '?'")
    func unknownAddress() {
        let frames = Symbolizer.shared.symbolize([0x10])
        #expect(frames == [Frame(address: 0x10, function: "?", image: "?")])
    }

    @Test("an image loaded after the symbolizer started is found, with its function's name, file and line")
    func dlopenAfterwards() throws {
        // A library built now, so that no earlier lookup (or link) can have seen it.
        let directory = ToolRun.temporaryFile("-late")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let function = "pmp_late_loaded_" + UUID().uuidString.prefix(8).lowercased()
        let source = directory.appendingPathComponent("late.c")
        try "// Built by the symbolizer test.\nint \(function)(int x) {\n    return x * 3 + 1;\n}\n"
            .write(to: source, atomically: true, encoding: .utf8)
        let library = directory.appendingPathComponent("libpmplate.so").path
        let compiled = try ToolRun.run(try RequiredTool.path("cc"),
                                       ["-g", "-O0", "-shared", "-fPIC", "-o", library, source.path])
        #expect(compiled.status == 0, "cc: \(compiled.stderr)")

        _ = Symbolizer.shared.symbolize([0x10])
        let before = Symbolizer.shared.symbolize([UInt64(UInt(bitPattern: dlsym(nil, "malloc")))])
        #expect(before.first?.function.contains("malloc") == true, "the symbolizer is running: \(before)")
        let handle = try #require(dlopen(library, RTLD_NOW | RTLD_LOCAL), "\(String(cString: dlerror()))")
        defer { dlclose(handle) }
        let symbol = try #require(dlsym(handle, function))
        let frame = try #require(Symbolizer.shared.symbolize([UInt64(UInt(bitPattern: symbol))]).first)
        #expect(frame.function == function)
        #expect(frame.image == "libpmplate.so" || frame.image.hasSuffix("/libpmplate.so"), "\(frame.image)")
        #expect(frame.file?.hasSuffix("late.c") == true, "\(String(describing: frame.file))")
        #expect(frame.line == 2, "the function's first line: \(String(describing: frame.line))")
    }
}
