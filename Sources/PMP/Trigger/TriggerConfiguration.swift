#if canImport(Glibc)
import Glibc
#endif

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

    public init(signal: Int32? = TriggerConfiguration.defaultSignal(), destination: DumpDestination = .standardError,
                capture: CaptureOptions = CaptureOptions(), blockedTimeResolution: Duration? = .seconds(1)) {
        self.signal = signal
        self.destination = destination
        self.capture = capture
        self.blockedTimeResolution = blockedTimeResolution
    }

    public static func defaultSignal() -> Int32? {
        guard let text = getenvString("PMP_TRIGGER_SIGNAL") else { return SIGUSR1 }
        if ["off", "none", "0", ""].contains(text.lowercased()) { return nil }
        return SignalName.parse(text) ?? SIGUSR1
    }
}
