import NIOCore
import NIOHTTP1

/// A short error answer written as raw bytes below the HTTP encoder, for a connection that is being turned away
/// (too many connections, a head too large, too slow), followed by a graceful close: the server stops sending
/// (FIN), then discards what the client still sends until it closes or `lingerTime` passes. Closing at once
/// with unread request bytes would make the system reset the connection, and the client would lose the answer.
enum RawRefusal {
    /// How long a refused connection may stay open while the client reads its answer.
    static let lingerTime = TimeAmount.seconds(2)
    /// Refused connections lingering at once; beyond it they are closed as soon as the answer is written.
    static let maxLingering = 256

    static func bytes(_ status: HTTPResponseStatus, _ message: String, retryAfter: Int? = nil) -> [UInt8] {
        let body = ServerResponse.errorBody(status, message)
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.count)\r\n"
        for (name, value) in CommonHeaders.all { text += "\(name): \(value)\r\n" }
        if let retryAfter { text += "Retry-After: \(retryAfter)\r\n" }
        text += "Connection: close\r\n\r\n"
        return Array(text.utf8) + body
    }

    /// Writes `bytes` on `context` and closes its connection gracefully. Call on the connection's loop.
    static func send(_ bytes: [UInt8], context: ChannelHandlerContext, registry: ConnectionRegistry) {
        let buffer = context.channel.allocator.buffer(bytes: bytes)
        context.writeAndFlush(NIOAny(buffer)).assumeIsolated().whenComplete { result in
            guard case .success = result else {
                context.close(promise: nil)
                return
            }
            linger(context: context, registry: registry)
        }
    }

    /// Closes a connection without an answer, gracefully: a request the client sent meanwhile is read and
    /// discarded rather than left unread, which would make the system reset the connection. Call on the loop.
    static func close(context: ChannelHandlerContext, registry: ConnectionRegistry) {
        linger(context: context, registry: registry)
    }

    private static func linger(context: ChannelHandlerContext, registry: ConnectionRegistry) {
        let channel = context.channel
        guard channel.isActive, registry.lingering < maxLingering else {
            context.close(promise: nil)
            return
        }
        registry.lingering += 1
        channel.closeFuture.assumeIsolated().whenComplete { _ in registry.lingering -= 1 }
        context.close(mode: .output, promise: nil)
        let deadline = context.eventLoop.assumeIsolated().scheduleTask(in: lingerTime) { context.close(promise: nil) }
        channel.closeFuture.assumeIsolated().whenComplete { _ in deadline.cancel() }
        // The handlers above may hold reads back (a request was in progress): ask for input here.
        context.read()
    }
}
