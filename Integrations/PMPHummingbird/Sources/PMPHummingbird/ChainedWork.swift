/// The rest of a middleware chain, handed to the child task that runs it.
///
/// Unchecked: `next` and the context need not be Sendable, but the middleware hands them over whole and waits
/// for the child task to end before it touches them again or returns, so only one task uses them at a time.
struct ChainedWork<Input, Context, Output>: @unchecked Sendable {
    let next: (Input, Context) async throws -> Output
    let request: Input
    let context: Context

    func run() async throws -> Output { try await next(request, context) }
}
