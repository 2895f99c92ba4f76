import FuzzSupport
import PMPProfiles

// pprof files, gzipped or not: gzip (bombs included), protobuf wire format, the profile's tables.
FuzzDriver.run { input in
    guard let profile = try? PprofParser.parse(Array(input)) else { return }
    ProfileHarness.render(profile)
}
