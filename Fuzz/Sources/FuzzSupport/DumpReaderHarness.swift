import PMPAggregate
#if canImport(Glibc)
import Glibc
#endif
import PMPProfiles

/// Feeds an input to `pmp-aggregate`'s path for one dump format: read from a file descriptor (binary check, line
/// splitting, log prefixes), the format's reader, the stack table, and every renderer of the result.
public enum DumpReaderHarness {
    /// One file, rewritten for each input: the aggregator reads descriptors, as it reads files and pipes.
    nonisolated(unsafe) private static var scratch: Int32 = -1

    public static func run(_ input: UnsafeRawBufferPointer, readerTypes: [any DumpReader.Type]) {
        let fd = scratchDescriptor()
        guard ftruncate(fd, 0) == 0, pwrite(fd, input.baseAddress, input.count, 0) == input.count,
              lseek(fd, 0, SEEK_SET) == 0 else { fatalError("the scratch file cannot be written: \(errno)") }
        // Options vary with the input's length, so that every setting is reached without taking bytes away.
        let bits = input.count
        let options = AggregateOptions(foldBy: FoldKey.allCases[(bits >> 4) % FoldKey.allCases.count],
                                       maxFrames: bits & 8 != 0 ? 3 : nil, byState: bits & 2 != 0,
                                       perProcess: bits & 4 != 0, maxStacks: 64, demangle: bits & 1 != 0,
                                       maxLineLength: bits & 32 != 0 ? 80 : 64 * 1024)
        let aggregator = Aggregator(options: options, readerTypes: readerTypes)
        do {
            try aggregator.consume(fileDescriptor: fd, name: "input")
        } catch {
            return
        }
        let profile = aggregator.finish()
        _ = aggregator.report.summary
        ProfileHarness.render(profile)
    }

    private static func scratchDescriptor() -> Int32 {
        if scratch >= 0 { return scratch }
        var template = Array("/tmp/pmp-fuzz-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { fatalError("no scratch file: \(errno)") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        scratch = fd
        return fd
    }
}
