import CPMPCapture
import Foundation
@testable import PMP
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

    @Test("an address of this test binary resolves to a demangled function with file and line")
    func ownFunction() throws {
        let thread = TestThread.parkedInKnownFunction()
        defer { thread.finish(); thread.waitUntilFinished() }
        let raw = try PMP.capture(CaptureOptions(threads: .threads([thread.tid])))
        let frames = Symbolizer.shared.symbolize(try #require(raw.threads.first).addresses)
        let frame = try #require(frames.first { $0.function.contains("parkedInTestFunction") })
        #expect(frame.function == "PMPTests.parkedInTestFunction(PMPTests.TestThread) -> ()")
        #expect(frame.file?.hasSuffix("CaptureEngineTests.swift") == true)
        #expect(frame.line != nil)
        #expect(frame.image.contains("PackageTests"))
        // libc frames carry the image name.
        #expect(frames.contains { $0.image.hasPrefix("libc.so") })
        // Cached: the same addresses again give the same frames.
        #expect(Symbolizer.shared.symbolize(raw.threads[0].addresses) == frames)
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
