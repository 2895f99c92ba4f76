#if canImport(Glibc)
import Glibc
#endif
import PMPProfiles

/// How the dump trigger behaves: which signal, where the dump goes, how the capture is taken.
public struct TriggerConfiguration: Sendable {
    /// The trigger signal; nil turns the trigger off. Default SIGUSR1, or `PMP_TRIGGER_SIGNAL`
    /// ("USR2", "RTMIN+3", "off").
    public var signal: Int32?
    public var destination: DumpDestination
    public var capture: CaptureOptions
    /// How often the capture thread reads every thread's CPU clock (no signals) so that a dump can say how
    /// long a thread has been blocked. nil: only captures measure it.
    public var blockedTimeResolution: Duration?
    /// When set, the trigger samples for a short window and writes the folded blocking profile instead of a
    /// single dump. Default: `PMP_TRIGGER_PROFILE` ("1s@100Hz"), else nil (a dump).
    public var profile: TriggerProfile?

    public init(signal: Int32? = TriggerConfiguration.defaultSignal(), destination: DumpDestination = .standardError,
                capture: CaptureOptions = CaptureOptions(), blockedTimeResolution: Duration? = .seconds(1),
                profile: TriggerProfile? = TriggerProfile.fromEnvironment()) {
        self.signal = signal
        self.destination = destination
        self.capture = capture
        self.blockedTimeResolution = blockedTimeResolution
        self.profile = profile
    }

    public static func defaultSignal() -> Int32? {
        guard let text = getenvString("PMP_TRIGGER_SIGNAL") else { return SIGUSR1 }
        if ["off", "none", "0", ""].contains(text.lowercased()) { return nil }
        return SignalName.parse(text) ?? SIGUSR1
    }
}

/// The trigger's profile mode: sample for `duration` at `rate`, then write the profile.
public struct TriggerProfile: Sendable, Hashable {
    public var duration: Duration
    public var rate: Double
    /// `.text` or `.folded` (the log takes text).
    public var format: ProfileFormat
    public var options: RenderOptions

    public init(duration: Duration = .seconds(1), rate: Double = 100, format: ProfileFormat = .text,
                options: RenderOptions = RenderOptions(byState: true)) {
        self.duration = duration
        self.rate = rate
        self.format = format
        self.options = options
    }

    /// `PMP_TRIGGER_PROFILE`: "SECONDS[s][@HZ[Hz]]", e.g. "1s@100Hz", "0.5", "2@50"; "off" or unset: nil.
    /// At most an hour and 100 kHz; the rate defaults to 100 Hz.
    public static func fromEnvironment() -> TriggerProfile? {
        getenvString("PMP_TRIGGER_PROFILE").flatMap(parse)
    }

    public static func parse(_ text: String) -> TriggerProfile? {
        let lower = text.lowercased().filter { $0 != " " }
        if ["", "off", "none", "0"].contains(lower) { return nil }
        let parts = lower.split(separator: "@", maxSplits: 1)
        var seconds = parts[0]
        if seconds.hasSuffix("ms"), let ms = Double(seconds.dropLast(2)) { seconds = Substring(String(ms / 1000)) }
        if seconds.hasSuffix("s") { seconds = seconds.dropLast() }
        guard let duration = Double(seconds), duration > 0, duration <= 3600 else { return nil }
        var rate = 100.0
        if parts.count == 2 {
            var hz = parts[1]
            if hz.hasSuffix("hz") { hz = hz.dropLast(2) }
            guard let value = Double(hz), value > 0, value <= 100_000 else { return nil }
            rate = value
        }
        return TriggerProfile(duration: .nanoseconds(Int64(duration * 1e9)), rate: rate)
    }
}
