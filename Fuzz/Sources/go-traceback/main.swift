import FuzzSupport
import PMPAggregate
import PMPProfiles

FuzzDriver.run { input in
    DumpReaderHarness.run(input, readerTypes: [GoTracebackReader.self])
}
