/// gzipped pprof protobuf (perftools.profiles.Profile), as `go tool pprof`, Parca, Pyroscope and Grafana read it.
///
/// - Sample types: `samples/count` (thread observations) and `wall/nanoseconds` (count × sampling interval; 0 when
///   the rate is unknown, and then `samples` is the default sample type).
/// - One Location per physical frame (address, image and symbols); functions inlined into it become extra Lines of
///   that location, innermost first as pprof expects. Unsymbolized frames ("?") get a location without lines, which
///   pprof shows by address. Names are written as they are (demangled), without a system name.
/// - One Mapping per image: its file name, the range of addresses seen, which symbol kinds are present
///   (has_functions always, so that pprof does not look for the file to symbolize it again). An executable goes
///   first, as pprof takes the first mapping for the main binary.
/// - String labels on samples: `thread` (thread-name pattern), `state` (wait reason), `process`; always written
///   when the profile has them, whatever `RenderOptions` says (`go tool pprof -tagfocus`, `-tags` use them).
/// - Informational comments: source, captures, dropped and unanswered samples (`go tool pprof -comments`).
public enum PprofRenderer {
    public static func render(_ profile: Profile, options: RenderOptions = RenderOptions()) -> [UInt8] {
        let message = encode(profile)
        // deflate fails only without memory; pprof readers also accept an uncompressed message.
        return (try? Gzip.compress(message)) ?? message
    }

    /// The profile.proto message, before gzip.
    public static func encode(_ profile: Profile) -> [UInt8] {
        var tables = PprofTables()
        let nanosecondsPerSample = profile.nanosecondsPerSample
        var samples = ProtobufWriter()
        for stack in profile.stacks {
            let locationIDs = tables.locationIDs(leafFirst: stack.frames)
            samples.writeMessage(PprofSchema.Profile.sample) { sample in
                sample.writePacked(PprofSchema.Sample.locationID, locationIDs)
                let count = Int64(stack.count)
                let wall = count.multipliedReportingOverflow(by: nanosecondsPerSample)
                sample.writePacked(PprofSchema.Sample.value, [count, wall.overflow ? Int64.max : wall.partialValue]
                    .map { UInt64(bitPattern: $0) })
                for (key, value) in [(PprofSchema.threadLabel, stack.threadName),
                                     (PprofSchema.stateLabel, stack.waitReason?.rawValue),
                                     (PprofSchema.processLabel, stack.process)] {
                    guard let value else { continue }
                    let keyIndex = tables.string(key)
                    let valueIndex = tables.string(value)
                    sample.writeMessage(PprofSchema.Sample.label) { label in
                        label.writeInt64(PprofSchema.Label.key, keyIndex)
                        label.writeInt64(PprofSchema.Label.str, valueIndex)
                    }
                }
            }
        }

        var message = ProtobufWriter()
        let samplesType = (tables.string(PprofSchema.samplesType), tables.string(PprofSchema.countUnit))
        let wallType = (tables.string(PprofSchema.wallType), tables.string(PprofSchema.nanosecondsUnit))
        for (type, unit) in [samplesType, wallType] {
            message.writeMessage(PprofSchema.Profile.sampleType) { valueType in
                valueType.writeInt64(PprofSchema.ValueType.type, type)
                valueType.writeInt64(PprofSchema.ValueType.unit, unit)
            }
        }
        message.appendRaw(samples.bytes)
        tables.writeMappings(into: &message)
        tables.writeLocations(into: &message)
        tables.writeFunctions(into: &message)

        if let startTime = profile.startTime, startTime.isFinite {
            message.writeInt64(PprofSchema.Profile.timeNanos, nanoseconds(startTime))
        }
        if profile.duration > 0, profile.duration.isFinite {
            message.writeInt64(PprofSchema.Profile.durationNanos, nanoseconds(profile.duration))
        }
        message.writeMessage(PprofSchema.Profile.periodType) { valueType in
            valueType.writeInt64(PprofSchema.ValueType.type, wallType.0)
            valueType.writeInt64(PprofSchema.ValueType.unit, wallType.1)
        }
        if nanosecondsPerSample > 0 {
            message.writeInt64(PprofSchema.Profile.period, nanosecondsPerSample)
        }
        for comment in PprofComments.lines(for: profile) {
            message.writeInt64(PprofSchema.Profile.comment, tables.string(comment))
        }
        // Without a known rate every wall value is 0: point pprof at the counts instead.
        message.writeInt64(PprofSchema.Profile.defaultSampleType, nanosecondsPerSample > 0 ? wallType.0 : samplesType.0)
        // Last, once every string above has its index.
        for string in tables.strings { message.writeString(PprofSchema.Profile.stringTable, string) }
        return message.bytes
    }

    /// Seconds as nanoseconds, whole seconds apart from the fraction: a Double has no room for both at once
    /// (2026 in nanoseconds needs 61 bits).
    static func nanoseconds(_ seconds: Double) -> Int64 {
        let whole = seconds.rounded(.down)
        guard let wholeSeconds = Int64(exactly: whole),
              case let (scaled, overflow) = wholeSeconds.multipliedReportingOverflow(by: 1_000_000_000), !overflow
        else { return 0 }
        return scaled &+ Int64(((seconds - whole) * 1e9).rounded())
    }
}

