import CPMPCapture
import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
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
        #expect(frame.fullFunction == "PMPTests.parkedInTestFunction(PMPTests.TestThread) -> ()")
        #expect(frame.file?.hasSuffix("CaptureEngineTests.swift") == true)
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

    @Test("images loaded after the first lookup are found")
    func dlopenAfterwards() throws {
        _ = Symbolizer.shared.symbolize([0x10])
        guard let handle = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL) else { return }
        defer { dlclose(handle) }
        let symbol = try #require(dlsym(handle, "inflate"))
        let frames = Symbolizer.shared.symbolize([UInt64(UInt(bitPattern: symbol))])
        #expect(frames.first?.function == "inflate")
        #expect(frames.first?.image.hasPrefix("libz.so") == true)
    }
}
