#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Keeps accepting when the process is out of file descriptors (or socket memory). A descriptor is held in
/// reserve (nginx's idiom): the first time accept fails with EMFILE, the reserve is closed, so the connection
/// waiting in the backlog gets it and its request is answered (with an error, where its answer needs a file).
/// When the reserve is spent too, reading the listening socket pauses for `delay` (accept fails at once with
/// the connection still in the backlog, so the socket stays readable: without a pause the loop would retry at
/// full speed, a core spent for nothing); connections that come meanwhile wait in the backlog. The reserve is
/// taken back as soon as a descriptor is free again.
final class AcceptBackoff: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    private let delay: TimeAmount
    private var paused = false
    private var reserve: Int32 = -1

    init(delay: TimeAmount) {
        self.delay = delay
        takeReserve()
    }

    deinit { releaseReserve() }

    func handlerRemoved(context: ChannelHandlerContext) { releaseReserve() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        takeReserve()
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let ioError = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(ioError.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        guard !paused, let options = context.channel.syncOptions else { return }
        var wait = delay
        if reserve >= 0, ioError.errnoCode == EMFILE {
            // Reading is switched off and on again at once: that asks the poller anew, and the next accept
            // takes the freed descriptor.
            releaseReserve()
            wait = .zero
        }
        paused = true
        try? options.setOption(.autoRead, value: false)
        context.eventLoop.assumeIsolated().scheduleTask(in: wait) { [self] in
            paused = false
            // Not right after spending it: the freed descriptor is the next accept's.
            if wait != .zero { takeReserve() }
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    private func takeReserve() {
        guard reserve < 0 else { return }
        reserve = open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    private func releaseReserve() {
        guard reserve >= 0 else { return }
        close(reserve)
        reserve = -1
    }
}
