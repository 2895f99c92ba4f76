import FuzzSupport
import PMP

FuzzDriver.run { input in
    DumpReaderHarness.run(input, readerTypes: [GoProfileReader.self])
}
