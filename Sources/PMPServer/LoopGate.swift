import NIOCore
import Synchronization

/// Hands results made on other threads (the capture thread, sampler threads) back to the server's event loop
/// while the server runs; once closed, they are dropped, so nothing is scheduled on a loop that shut down.
final class LoopGate: Sendable {
    let loop: any EventLoop
    private let isOpen = Mutex(true)

    init(loop: any EventLoop) { self.loop = loop }

    func execute(_ body: @escaping @Sendable () -> Void) {
        isOpen.withLock { open in
            if open { loop.execute(body) }
        }
    }

    func close() { isOpen.withLock { $0 = false } }
}

/// Sends an endpoint's response back to its connection; callable from any thread, once.
struct Reply: Sendable {
    let send: @Sendable (ServerResponse) -> Void
    /// Whether the client is still waiting; lets long work (a profile) stop when it is not.
    let lifetime: RequestLifetime

    init(lifetime: RequestLifetime = RequestLifetime(), send: @escaping @Sendable (ServerResponse) -> Void) {
        self.lifetime = lifetime
        self.send = send
    }

    func callAsFunction(_ response: ServerResponse) { send(response) }
}
