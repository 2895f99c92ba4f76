#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// The user of the process at the other end of a unix socket, as the kernel saw it connect (`SO_PEERCRED`).
enum PeerCredentials {
    /// The peer's uid; nil for TCP or when the kernel does not say. Call on the channel's event loop.
    static func uid(of channel: any Channel) -> uid_t? {
        guard case .unixDomainSocket? = channel.localAddress, let provider = channel as? any SocketOptionProvider
        else { return nil }
        var uid: uid_t?
        // On its own loop the option is read at once and the future is already complete.
        let future: EventLoopFuture<Credentials> = provider.unsafeGetSocketOption(level: .socket,
                                                                                name: .init(rawValue: peerCredentialsOption))
        future.assumeIsolated().whenSuccess { credentials in uid = credentials.uid }
        return uid
    }

    /// Linux's `struct ucred` (glibc shows it only with _GNU_SOURCE).
    private struct Credentials: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// `SO_PEERCRED` on Linux.
    private static let peerCredentialsOption: Int32 = 17

    /// The peer may act for this process's user: the same uid, or root.
    static func mayActForOwner(_ uid: uid_t) -> Bool { uid == 0 || uid == geteuid() }
}
