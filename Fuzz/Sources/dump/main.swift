import FuzzSupport
import PMPAggregate
import PMPProfiles

// swift-pmp's own dumps: the streaming reader pmp-aggregate uses, and the parser of whole dumps.
FuzzDriver.run { input in
    DumpReaderHarness.run(input, readerTypes: [DumpStreamReader.self])
    for dump in DumpParser.parse(String(decoding: input, as: UTF8.self)) {
        _ = PMP.dumpText(dump.snapshot)
    }
}
