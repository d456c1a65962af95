import DoseProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix

/// One client of the socket, as the daemon's engine sees it: send lines, close, know who it is.
public final class Connection: Sendable, Hashable {
    let channel: any Channel
    /// The peer's uid, from SO_PEERCRED.
    public let uid: UInt32

    init(channel: any Channel, uid: UInt32) {
        self.channel = channel
        self.uid = uid
    }

    /// Queues one line (a newline is added); never waits for the client. With `thenClose`, the
    /// connection is closed once the line is written.
    public func send(_ line: String, thenClose: Bool = false) {
        let channel = self.channel
        channel.eventLoop.execute {
            var buffer = channel.allocator.buffer(capacity: line.utf8.count + 1)
            buffer.writeString(line)
            buffer.writeInteger(UInt8(ascii: "\n"))
            let written = channel.writeAndFlush(buffer)
            if thenClose { written.whenComplete { _ in channel.close(promise: nil) } }
        }
    }

    public static func == (a: Connection, b: Connection) -> Bool { a === b }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// What the socket server asks of the daemon.
public protocol SocketDelegate: AnyObject, Sendable {
    /// Whether a peer may be served (SPEC 6: own uid, root, and in system mode group `dosed`).
    func admits(uid: UInt32, gid: UInt32) -> Bool
    /// One line of a client, without its newline.
    func received(_ line: String, from connection: Connection)
    /// The client is gone.
    func closed(_ connection: Connection)
}

/// The JSON-RPC socket: a Unix stream socket, one message per line (SPEC 6).
///
/// Lines over 64 KiB get -32600 and the connection is closed. A client whose unread output
/// passes 256 KiB (about 800 notifications: a stuck subscriber) is disconnected, so it never
/// holds anything up.
public final class SocketServer: Sendable {
    public static let maximumLine = 64 * 1024
    static let writeLimit = 256 * 1024

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    public let path: String
    /// Whether this server made the socket file (and so removes it); not when systemd passed it.
    private let ownsPath: Bool

    /// Binds `path` (or serves the listening `descriptor` handed over by systemd) with `mode`.
    public init(path: String, descriptor: CInt? = nil, mode: mode_t, delegate: any SocketDelegate, logger: Logger) throws {
        self.path = path
        ownsPath = descriptor == nil
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .childChannelOption(ChannelOptions.writeBufferWaterMark, value: .init(low: 32 * 1024, high: Self.writeLimit))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LineHandler(delegate: delegate))
                }
            }
        do {
            if let descriptor {
                channel = try bootstrap.withBoundSocket(descriptor).wait()
            } else {
                try Self.removeStale(path)
                channel = try bootstrap.bind(unixDomainSocketPath: path).wait()
                chmod(path, mode)
            }
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        logger.debug("listening on \(path)")
    }

    /// Removes a socket file left by a daemon that is gone; refuses when one still answers.
    static func removeStale(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        if let fd = UnixSocket.connect(to: path) {
            close(fd)
            throw AlreadyRunning(path: path)
        }
        unlink(path)
    }

    /// Another daemon answers on the socket.
    public struct AlreadyRunning: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "another dosed is already serving \(path)" }
    }

    /// Stops listening and closes every connection.
    public func shutdown() {
        try? channel.close().wait()
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

/// Splits a connection's bytes into lines and hands them to the delegate.
private final class LineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let delegate: any SocketDelegate
    private var buffer = ByteBuffer()
    private var connection: Connection?
    /// Bytes that arrive before the peer's credentials are checked.
    private var early: [ByteBuffer] = []

    init(delegate: any SocketDelegate) {
        self.delegate = delegate
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
            let connection = Connection(channel: channel, uid: peer.uid)
            guard handler.delegate.admits(uid: peer.uid, gid: peer.gid) else {
                connection.send(#"{"error":{"code":-32001,"message":"permission denied"},"id":null,"jsonrpc":"2.0"}"#, thenClose: true)
                return
            }
            handler.connection = connection
            for bytes in handler.early { handler.consume(bytes) }
            handler.early = []
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if connection == nil {
            early.append(bytes)
        } else {
            consume(bytes)
        }
    }

    private func consume(_ bytes: ByteBuffer) {
        guard let connection else { return }
        var bytes = bytes
        buffer.writeBuffer(&bytes)
        while let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex
            guard length <= SocketServer.maximumLine else { return tooLong(connection) }
            let line = buffer.readString(length: length) ?? ""
            buffer.moveReaderIndex(forwardBy: 1)
            delegate.received(line.hasSuffix("\r") ? String(line.dropLast()) : line, from: connection)
        }
        if buffer.readableBytes > SocketServer.maximumLine { return tooLong(connection) }
        buffer.discardReadBytes()
    }

    private func tooLong(_ connection: Connection) {
        buffer.clear()
        connection.send(#"{"error":{"code":-32600,"message":"line longer than 64 KiB"},"id":null,"jsonrpc":"2.0"}"#, thenClose: true)
        self.connection = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Over the write limit unread: a stuck client. Drop it rather than buffer without end.
        if !context.channel.isWritable { context.close(promise: nil) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let connection { delegate.closed(connection) }
        connection = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
