import DoseProtocol
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One client of the socket, as the daemon's engine sees it: notify it, know who it is.
public final class Connection: Sendable, Hashable {
    let channel: any Channel
    /// The peer's uid, from SO_PEERCRED.
    public let uid: UInt32

    init(channel: any Channel, uid: UInt32) {
        self.channel = channel
        self.uid = uid
    }

    /// Queues a notification line (a newline is added); never waits for the client. A client
    /// whose unread output is over the write limit is stuck: it is disconnected instead, so a
    /// silent subscriber never holds anything up. Replies never take this path: they are never
    /// dropped (the server stops reading a client's requests while its replies wait).
    public func notify(_ line: String) {
        let channel = self.channel
        channel.eventLoop.execute {
            guard channel.isWritable else {
                channel.close(promise: nil)
                return
            }
            channel.writeAndFlush(Self.buffer(line, channel.allocator), promise: nil)
        }
    }

    static func buffer(_ line: String, _ allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: line.utf8.count + 1)
        buffer.writeString(line)
        buffer.writeInteger(UInt8(ascii: "\n"))
        return buffer
    }

    public static func == (a: Connection, b: Connection) -> Bool { a === b }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// What the socket server asks of the daemon.
public protocol SocketDelegate: AnyObject, Sendable {
    /// Whether a peer may be served (SPEC 6: own uid, root, and in system mode group `dosed`).
    func admits(uid: UInt32, gid: UInt32) -> Bool
    /// One line of a client, without its newline. `reply` must be called exactly once, with the
    /// reply line or nil (a notification); the client's next line waits until then.
    func received(_ line: String, from connection: Connection, reply: @escaping @Sendable (String?) -> Void)
    /// The client is gone.
    func closed(_ connection: Connection)
}

/// The JSON-RPC socket: a Unix stream socket, one message per line (SPEC 6).
///
/// Each client's lines are handled one at a time, in order, and every reply is written before
/// the next line is handed on; while a client leaves replies unread past the write limit, its
/// further requests wait unread (back-pressure), so no reply is ever dropped. A client that
/// closes its sending side still gets every reply, then the connection closes. Lines over
/// 64 KiB get -32600 and the connection is closed. A subscriber whose unread notifications pass
/// 256 KiB (about 800: a stuck subscriber) is disconnected, so it never holds anything up.
public final class SocketServer: Sendable {
    public static let maximumLine = 64 * 1024
    static let writeLimit = 256 * 1024

    private let group: MultiThreadedEventLoopGroup
    private let delegate: any SocketDelegate
    /// The listening socket; a new one once the file was removed and served again.
    private let listener: NIOLockedValueBox<any Channel>
    /// The socket file's mode, owning group (system mode) and its directory's mode.
    private let mode: mode_t
    private let ownerGroup: gid_t?
    private let directoryMode: mode_t
    /// The connected clients, to close them in order when dosed stops.
    private let clients: NIOLockedValueBox<[ObjectIdentifier: any Channel]>
    public let path: String
    /// Whether this server made the socket file (and so removes it); not when systemd passed it.
    private let ownsPath: Bool

    /// Binds `path` (or serves the listening `descriptor` handed over by systemd): the file gets
    /// `mode` and, when given, `ownerGroup`; a missing directory is made with `directoryMode`.
    public init(path: String, descriptor: CInt? = nil, mode: mode_t, ownerGroup: gid_t? = nil, directoryMode: mode_t = 0o700,
                delegate: any SocketDelegate, logger: Logger) throws {
        self.path = path
        ownsPath = descriptor == nil
        self.mode = mode
        self.ownerGroup = ownerGroup
        self.directoryMode = directoryMode
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.delegate = delegate
        clients = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
        let bootstrap = Self.bootstrap(group, clients, delegate)
        do {
            if let descriptor {
                listener = NIOLockedValueBox(try bootstrap.withBoundSocket(descriptor).wait())
            } else {
                try Self.removeStale(path)
                listener = NIOLockedValueBox(try Self.bind(bootstrap, path, mode: mode, ownerGroup: ownerGroup, directoryMode: directoryMode))
            }
        } catch {
            try? group.syncShutdownGracefully()
            throw SetupError(error, path: path)
        }
        logger.debug("listening on \(path)")
    }

    /// How a listening socket of this server is set up: each client's line handler, and its
    /// entry in `clients` while it is connected.
    private static func bootstrap(_ group: MultiThreadedEventLoopGroup, _ clients: NIOLockedValueBox<[ObjectIdentifier: any Channel]>,
                                  _ delegate: any SocketDelegate) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .childChannelOption(ChannelOptions.writeBufferWaterMark, value: .init(low: 32 * 1024, high: Self.writeLimit))
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                let key = ObjectIdentifier(channel)
                clients.withLockedValue { $0[key] = channel }
                channel.closeFuture.whenComplete { _ in
                    clients.withLockedValue { _ = $0.removeValue(forKey: key) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LineHandler(delegate: delegate))
                }
            }
    }

    /// Makes the directory if missing, binds the socket file, and gives it its mode and group.
    private static func bind(_ bootstrap: ServerBootstrap, _ path: String, mode: mode_t, ownerGroup: gid_t?,
                             directoryMode: mode_t) throws -> any Channel {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: Int(directoryMode)])
        }
        let channel = try bootstrap.bind(unixDomainSocketPath: path).wait()
        chmod(path, mode)
        if let ownerGroup { chown(path, getuid(), ownerGroup) }
        return channel
    }

    /// Serves `path` again when the socket file this server made is gone (removed, or its
    /// directory removed): a new listening socket is bound there, with its directory, mode and
    /// group; clients already connected stay. Nothing is done while something is at the path
    /// (ours, or what took its place: not ours to remove), nor for a socket systemd passed.
    /// Returns what happened, for the log, or nil when nothing did.
    public func serveAgainIfGone() -> String? {
        var status = stat()
        guard ownsPath, lstat(path, &status) != 0, errno == ENOENT else { return nil }
        // The old listener first: NIO removes the path when it closes a listener bound to one,
        // which would be the new socket's file.
        try? listener.withLockedValue { $0 }.close().wait()
        do {
            let fresh = try Self.bind(Self.bootstrap(group, clients, delegate), path, mode: mode, ownerGroup: ownerGroup,
                                      directoryMode: directoryMode)
            listener.withLockedValue { $0 = fresh }
            return "the socket \(path) was removed: serving it again"
        } catch {
            return "the socket \(path) was removed, and \(SetupError(error, path: path))"
        }
    }

    /// Removes a socket left by a daemon that is gone; refuses when one still answers, and never
    /// replaces anything but a socket (a symbolic link planted there is not followed or removed).
    static func removeStale(_ path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw SetupError.notASocket(path: path, symbolicLink: status.st_mode & S_IFMT == S_IFLNK)
        }
        if let fd = UnixSocket.connect(to: path) {
            close(fd)
            throw SetupError.alreadyServing(path: path)
        }
        unlink(path)
    }

    /// Why the socket could not be served, in one line for the person starting dosed.
    public enum SetupError: Error, Equatable, CustomStringConvertible {
        /// Another daemon answers on the socket.
        case alreadyServing(path: String)
        /// Something other than a socket (a file, a directory, a symbolic link) is at the path.
        case notASocket(path: String, symbolicLink: Bool)
        /// The path does not fit in a socket address (`sun_path`).
        case pathTooLong(path: String)
        /// The system refused: the reason as strerror says it.
        case refused(path: String, reason: String)

        /// What NIO threw, as one of the cases (an error already one of them stays itself).
        init(_ error: any Error, path: String) {
            switch error {
            case let error as SetupError: self = error
            case let error as IOError: self = .refused(path: path, reason: String(cString: strerror(error.errnoCode)))
            case SocketAddressError.unixDomainSocketPathTooLong: self = .pathTooLong(path: path)
            default: self = .refused(path: path, reason: "\(error)")
            }
        }

        public var description: String {
            switch self {
            case .alreadyServing(let path): "another dosed is already serving \(path)"
            case .notASocket(let path, true): "cannot serve \(path): a symbolic link is there; remove it, or choose another path with --socket"
            case .notASocket(let path, false): "cannot serve \(path): something other than a socket is there; remove it, or choose another path with --socket"
            case .pathTooLong(let path):
                "cannot serve \(path): the path is \(path.utf8.count) bytes, and a socket path has at most \(MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1)"
            case .refused(let path, let reason): "cannot serve \(path): \(reason)"
            }
        }
    }

    /// Stops listening, then closes every connection once what was written to it is flushed (the
    /// close is queued on the event loop behind every reply already sent), then stops.
    public func shutdown() {
        try? listener.withLockedValue { $0 }.close().wait()
        let open = clients.withLockedValue { Array($0.values) }
        let closed = open.map { client in
            client.eventLoop.flatSubmit { client.close() }.recover { _ in }
        }
        _ = try? EventLoopFuture.andAllComplete(closed, on: group.next()).wait()
        try? group.syncShutdownGracefully()
        if ownsPath { unlink(path) }
    }
}

/// `struct ucred` of SO_PEERCRED (Glibc's module leaves it out without _GNU_SOURCE).
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// SO_PEERCRED on Linux.
let peerCredentialsOption: Int32 = 17

/// Splits a connection's bytes into lines and hands them to the delegate one at a time.
private final class LineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let delegate: any SocketDelegate
    private var buffer = ByteBuffer()
    /// Set once the peer's credentials are checked and admitted.
    private var connection: Connection?
    /// What a client sent, in order: a line to hand on, or a line over the limit.
    private enum Input {
        case line(String)
        case tooLong
    }

    /// Complete lines not yet handed on.
    private var lines: [Input] = []
    private var nextLine = 0
    /// A line was handed on and its reply has not come back yet.
    private var inFlight = false
    /// The peer shut down its sending side (or sent a line over the limit): close once answered.
    private var inputClosed = false
    private var reading = true
    /// Replies written but not yet flushed to the socket.
    private var unflushed = 0
    private var context: ChannelHandlerContext?

    init(delegate: any SocketDelegate) {
        self.delegate = delegate
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        guard let provider = channel as? any SocketOptionProvider else {
            channel.close(promise: nil)
            return
        }
        let credentials: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(peerCredentialsOption))
        credentials.whenComplete { result in
            let handler = loopBound.value
            guard case .success(let peer) = result else {
                channel.close(promise: nil)
                return
            }
            guard handler.delegate.admits(uid: peer.uid, gid: peer.gid) else {
                handler.lines = []
                handler.inputClosed = true
                let denied = RPCMessage.line(RPCMessage.error(id: .null, RPCError(code: RPCErrorCode.permissionDenied, message: "permission denied")))
                channel.writeAndFlush(Connection.buffer(denied, channel.allocator)).whenComplete { _ in channel.close(promise: nil) }
                return
            }
            handler.connection = Connection(channel: channel, uid: peer.uid)
            handler.pump()
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard !inputClosed else { return }
        buffer.writeBuffer(&bytes)
        split(atEnd: false)
        pump()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            if !inputClosed { split(atEnd: true) }
            inputClosed = true
            pump()
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Moves complete lines from the buffer to `lines`; at the end of input, a last line without
    /// its newline counts too. A line over the limit ends the input with a -32600 reply.
    private func split(atEnd: Bool) {
        while let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex
            guard length <= SocketServer.maximumLine else { return tooLong() }
            let line = buffer.readString(length: length) ?? ""
            buffer.moveReaderIndex(forwardBy: 1)
            lines.append(.line(line.hasSuffix("\r") ? String(line.dropLast()) : line))
        }
        if buffer.readableBytes > SocketServer.maximumLine { return tooLong() }
        if atEnd, buffer.readableBytes > 0, let rest = buffer.readString(length: buffer.readableBytes),
           !rest.allSatisfy(\.isWhitespace) {
            lines.append(.line(rest))
        }
        buffer.discardReadBytes()
    }

    private func tooLong() {
        buffer.clear()
        inputClosed = true
        lines.append(.tooLong)
    }

    /// Hands the next line on when nothing is in flight and the client reads its replies; stops
    /// reading from the socket while lines wait; closes once the input ended and all is answered.
    private func pump() {
        guard let context, let connection else { return }
        let channel = context.channel
        if !inFlight, channel.isWritable, nextLine < lines.count {
            let input = lines[nextLine]
            nextLine += 1
            if nextLine == lines.count {
                lines = []
                nextLine = 0
            }
            inFlight = true
            guard case .line(let line) = input else {
                answered(RPCMessage.line(RPCMessage.error(id: .null, RPCError(code: RPCErrorCode.invalidRequest, message: "line longer than 64 KiB"))))
                return
            }
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            delegate.received(line, from: connection) { reply in
                eventLoop.execute { loopBound.value.answered(reply) }
            }
            return
        }
        let waiting = inFlight || nextLine < lines.count
        if inputClosed {
            if !waiting && unflushed == 0 { channel.close(promise: nil) }
        } else if waiting == reading {
            reading = !waiting
            try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: reading)
            if reading { context.read() }
        }
    }

    private func answered(_ reply: String?) {
        guard let context else { return }
        inFlight = false
        let channel = context.channel
        if let reply {
            unflushed += 1
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            channel.writeAndFlush(Connection.buffer(reply, channel.allocator)).whenComplete { _ in
                let handler = loopBound.value
                handler.unflushed -= 1
                handler.pump()
            }
        }
        pump()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { pump() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let connection { delegate.closed(connection) }
        connection = nil
        lines = []
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
