#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Pauses accepting for a while when the process is out of file descriptors (or socket memory). Accept then
/// fails at once with the connection still waiting in the backlog, so the listening socket stays readable:
/// without a pause the loop would retry at full speed, a core spent for nothing. Reads of the listening
/// socket are switched off (which also takes it out of the poll set) and back on after `delay`; connections
/// that came meanwhile wait in the backlog.
final class AcceptBackoff: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    private let delay: TimeAmount
    private var paused = false

    init(delay: TimeAmount) { self.delay = delay }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let ioError = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(ioError.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        guard !paused, let options = context.channel.syncOptions else { return }
        paused = true
        try? options.setOption(.autoRead, value: false)
        context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            paused = false
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }
}
