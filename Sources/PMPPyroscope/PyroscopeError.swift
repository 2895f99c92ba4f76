/// Why an exporter configuration was refused.
public enum PyroscopeError: Error, CustomStringConvertible, Sendable, Equatable {
    case badURL(String, reason: String)
    case badLabels(String, reason: String)
    case badInterval(String)
    case badApplicationName(String, reason: String)
    case badSetting(name: String, value: String, reason: String)
    case transport(String)

    public var description: String {
        switch self {
        case .badURL(let url, let reason):
            return "PMP_PYROSCOPE_URL \"\(url)\" is not usable: \(reason) (expected http://host:4040 or https://host)"
        case .badLabels(let text, let reason):
            return "PMP_PYROSCOPE_LABELS \"\(text)\" is not usable: \(reason) (expected name=value,name=value)"
        case .badInterval(let text):
            return "PMP_PYROSCOPE_INTERVAL \"\(text)\" is not usable: expected a duration between 1s and 1h, such as 15s, 500ms or 1m"
        case .badApplicationName(let name, let reason):
            return "the application name \"\(name)\" is not usable: \(reason)"
        case .badSetting(let name, let value, let reason):
            return "\(name) \"\(value)\" is not usable: \(reason)"
        case .transport(let reason):
            return "the exporter's connection could not be set up: \(reason)"
        }
    }
}
