import PMPSupport

/// Ages and waits the way top shows them: short, and as precise as is useful at that size.
enum DurationText {
    /// "0.4s", "12s", "3m04s", "2h05m", "3d04h"; "-" for a negative or unknown duration.
    static func short(seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "-" }
        if seconds < 10 { return "\((seconds * 10).rounded(.down) / 10)s" }
        let whole = Int(seconds.rounded(.down))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(twoDigits(whole % 60))s" }
        if whole < 86_400 { return "\(whole / 3600)h\(twoDigits(whole / 60 % 60))m" }
        return "\(whole / 86_400)d\(twoDigits(whole / 3600 % 24))h"
    }

    /// Parses `--refresh`-style text: "1s", "500ms", "2.5", "1m"; nil when it is not a duration.
    static func parse(_ text: String) -> Duration? {
        let text = text.trimmingBlanks().lowercased()
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("", 1)]
        for unit in units where text.hasSuffix(unit.suffix) {
            guard let value = Double(text.dropLast(unit.suffix.count)), value.isFinite, value >= 0 else { continue }
            return .milliseconds(Int64((value * unit.seconds * 1000).rounded()))
        }
        return nil
    }

    private static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
