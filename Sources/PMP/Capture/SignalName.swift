#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture

/// Signals by name or number: "USR1", "SIGUSR2", "RTMIN+5", "35".
public enum SignalName {
    public static func parse(_ text: String) -> Int32? {
        var name = text.uppercased()
        if let number = Int32(name) { return number > 0 && number <= pmp_sigrtmax() ? number : nil }
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        let fixed: [String: Int32] = ["HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "USR1": SIGUSR1, "USR2": SIGUSR2,
                                      "PROF": SIGPROF, "VTALRM": SIGVTALRM, "WINCH": SIGWINCH, "URG": SIGURG,
                                      "TERM": SIGTERM, "ALRM": SIGALRM, "PWR": SIGPWR]
        if let value = fixed[name] { return value }
        for (base, value) in [("RTMIN", pmp_sigrtmin()), ("RTMAX", pmp_sigrtmax())] where name.hasPrefix(base) {
            let rest = name.dropFirst(base.count)
            if rest.isEmpty { return value }
            guard let offset = Int32(rest) else { return nil }  // "+5" or "-3"
            let result = value + offset
            return result >= pmp_sigrtmin() && result <= pmp_sigrtmax() ? result : nil
        }
        return nil
    }

    public static func describe(_ signal: Int32) -> String {
        let fixed: [Int32: String] = [SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGUSR1: "SIGUSR1",
                                      SIGUSR2: "SIGUSR2", SIGPROF: "SIGPROF", SIGTERM: "SIGTERM"]
        if let name = fixed[signal] { return name }
        if signal >= pmp_sigrtmin() && signal <= pmp_sigrtmax() { return "SIGRTMIN+\(signal - pmp_sigrtmin())" }
        return "signal \(signal)"
    }
}

func getenvString(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}
