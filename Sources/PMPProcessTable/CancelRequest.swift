import FoundationEssentials

/// The body of `DELETE /procs/{id}`: `{"message": "too slow"}`. The message is optional; so is the body.
public struct CancelRequest: Sendable, Hashable {
    public var message: String

    public init(message: String = "") { self.message = message }

    /// Reads a request body. An empty (or blank) body, `{}`, `null` and `{"message": null}` mean no message;
    /// other members are ignored. Anything else — not JSON, not an object, a message that is not a string —
    /// throws a `CancelRequestError` whose description can be sent back with a 400.
    public init(body: some Collection<UInt8>) throws(CancelRequestError) {
        let blank: Set<UInt8> = [0x20, 0x09, 0x0a, 0x0d]
        guard body.contains(where: { !blank.contains($0) }) else {
            self.init()
            return
        }
        let value: AttributeValue
        do {
            value = try JSONDecoder().decode(AttributeValue.self, from: Data(body))
        } catch {
            throw CancelRequestError("the request body is not valid JSON; expected {\"message\": \"...\"}")
        }
        switch value {
        case .null:
            self.init()
        case .object(let members):
            switch members["message"] {
            case nil, .null?: self.init()
            case .string(let message)?: self.init(message: message)
            default: throw CancelRequestError("\"message\" must be a string")
            }
        default:
            throw CancelRequestError("the request body must be a JSON object like {\"message\": \"...\"}")
        }
    }
}

/// Why a `DELETE /procs/{id}` body was refused; its description is meant for the client.
public struct CancelRequestError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}
