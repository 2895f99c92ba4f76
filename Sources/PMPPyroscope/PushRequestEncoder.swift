import PMP

/// The bodies of Pyroscope's two ingest APIs for one profile.
///
/// Connect `push.v1.PushRequest` (api/push/v1/push.proto):
///
///     PushRequest      { repeated RawProfileSeries series = 1; }
///     RawProfileSeries { repeated types.v1.LabelPair labels = 1; repeated RawSample samples = 2; }
///     RawSample        { bytes raw_profile = 1; string ID = 2; }
///     LabelPair        { string name = 1; string value = 2; }
///
/// The raw profile is the plain pprof message and the whole body is gzipped (`Content-Encoding: gzip`), as
/// Grafana's own clients send it.
enum PushRequestEncoder {
    enum Field {
        static let series = 1
        static let labels = 1
        static let samples = 2
        static let rawProfile = 1
        static let labelName = 1
        static let labelValue = 2
    }

    /// The series labels of every profile: `__name__=wall` (wall-clock time, blocked and running alike),
    /// `service_name`, the user's labels, and where the data comes from.
    static func seriesLabels(_ configuration: PyroscopeConfiguration) -> [(String, String)] {
        [("__name__", "wall"), ("service_name", configuration.applicationName)]
            + configuration.labels.pairs.map { ($0.name, $0.value) }
            + [("otel.scope.name", "swift-pmp"), ("otel.scope.version", PyroscopeExporter.version)]
    }

    static func pushBody(pprof: [UInt8], labels: [(String, String)]) -> [UInt8] {
        var request = ProtobufWriter()
        request.writeMessage(Field.series) { series in
            for (name, value) in labels {
                series.writeMessage(Field.labels) { pair in
                    pair.writeString(Field.labelName, name)
                    pair.writeString(Field.labelValue, value)
                }
            }
            series.writeMessage(Field.samples) { sample in
                sample.writeBytes(Field.rawProfile, pprof)
            }
        }
        return request.bytes
    }

    /// `/ingest`'s `name` parameter: `app{k=v,…}` (no escaping exists: labels are checked to need none). The
    /// profile type comes from the pprof sample types, so the name has no `.wall` suffix.
    static func ingestName(_ configuration: PyroscopeConfiguration) -> String {
        let labels = configuration.labels.pairs.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
        return configuration.applicationName + "{" + labels + "}"
    }

    /// `/ingest`'s query: name, from and until (seconds), format and spy name.
    static func ingestQuery(_ configuration: PyroscopeConfiguration, from: Double, until: Double) -> String {
        let parameters = [("name", ingestName(configuration)), ("from", String(Int64(from.rounded(.down)))),
                          ("until", String(Int64(until.rounded(.up)))), ("format", "pprof"), ("spyName", "swift-pmp"),
                          ("sampleRate", String(Int(configuration.rate.rounded())))]
        return parameters.map { "\($0.0)=\(percentEncoded($0.1))" }.joined(separator: "&")
    }

    /// A multipart/form-data body with the profile as the `profile` field.
    static func ingestBody(pprof: [UInt8], boundary: String) -> [UInt8] {
        var body: [UInt8] = []
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"profile\"; filename=\"profile.pprof\"\r\n".utf8)
        body += Array("Content-Type: application/octet-stream\r\n\r\n".utf8)
        body += pprof
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return body
    }

    static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let character = Character(Unicode.Scalar(byte))
            if byte < 0x80, character.isLetter || character.isNumber || "-_.~".contains(character) {
                result.append(character)
            } else {
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
