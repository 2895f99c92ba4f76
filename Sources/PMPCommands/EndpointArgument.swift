import ArgumentParser
import PMPClient

/// The ENDPOINT argument and client errors as command failures.
enum EndpointArgument {
    static func parse(_ text: String) throws -> Endpoint {
        do {
            return try Endpoint.parse(text)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Runs an exchange; a failure to reach the endpoint becomes the message the user sees.
    static func perform<T>(_ body: () throws(HTTPClientError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
