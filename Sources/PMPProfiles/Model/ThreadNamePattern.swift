/// Thread names reduced to their pattern, so that a pool's threads fold together: "worker-12" and "worker-3"
/// both become "worker-#" (every run of digits becomes one "#").
public enum ThreadNamePattern {
    public static func of(_ name: String) -> String {
        var result = ""
        result.reserveCapacity(name.utf8.count)
        var inDigits = false
        for scalar in name.unicodeScalars {
            if scalar.value >= 48 && scalar.value <= 57 {
                if !inDigits { result.append("#") }
                inDigits = true
            } else {
                result.unicodeScalars.append(scalar)
                inDigits = false
            }
        }
        return result
    }
}
