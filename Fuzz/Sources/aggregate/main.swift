import FuzzSupport
import PMPAggregate
import PMPProfiles

// Every format at once, as pmp-aggregate reads a log: the readers compete for lines and hand them back.
FuzzDriver.run { input in
    DumpReaderHarness.run(input, readerTypes: Aggregator.readerTypes)
}
