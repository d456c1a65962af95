@testable import DoseDaemon
import DoseProtocol
import Foundation
import Logging
import Synchronization
import Testing

/// The socket server with a stand-in delegate: what it hands on, what it closes, what it tells.
@Suite("Socket server", .serialized)
struct SocketServerTests {
    /// Echoes each line back as its reply, and counts what it is told.
    final class Echo: SocketDelegate {
        let received = Mutex(0)
        let closedCount = Mutex(0)
        func admits(uid: UInt32, gid: UInt32) -> Bool { true }
        func received(_ line: String, from connection: Connection, reply: @escaping @Sendable (String?) -> Void) {
            received.withLock { $0 += 1 }
            reply(line)
        }
        func closed(_ connection: Connection) { closedCount.withLock { $0 += 1 } }
    }

    func withServer(_ body: (String, Echo) throws -> Void) throws {
        // In /tmp, not TMPDIR: a socket path must stay under 108 bytes.
        let path = "/tmp/dosed-socket-\(UUID().uuidString.prefix(8)).sock"
        let echo = Echo()
        let server = try SocketServer(path: path, mode: 0o600, delegate: echo, logger: Logger(label: "test"))
        defer { server.shutdown() }
        try body(path, echo)
    }

    static func connect(_ path: String) throws -> Int32 {
        guard let fd = UnixSocket.connect(to: path) else { throw SocketError() }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    struct SocketError: Error {}

    static func readAll(_ fd: Int32) -> String {
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            data += chunk[..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }

    @Test("a client over the line limit gets -32600, is closed, and the daemon is told it is gone (no subscriber leak)")
    func tooLongIsClosed() throws {
        try withServer { path, echo in
            let fd = try Self.connect(path)
            defer { close(fd) }
            let line = Array(("first\n" + String(repeating: "x", count: 70 * 1024) + "\n").utf8)
            _ = line.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            let text = Self.readAll(fd)
            #expect(text.hasPrefix("first\n"))
            #expect(text.contains("-32600") && text.contains("64 KiB"))
            for _ in 0..<50 where echo.closedCount.withLock({ $0 }) == 0 { Thread.sleep(forTimeInterval: 0.05) }
            #expect(echo.closedCount.withLock { $0 } == 1)
        }
    }

    @Test("half-close: every line sent before shutting down the sending side is answered, in order, then closed")
    func halfClose() throws {
        try withServer { path, _ in
            let fd = try Self.connect(path)
            defer { close(fd) }
            let lines = (1...200).map { "line \($0)" }
            let text = Array((lines.joined(separator: "\n") + "\nlast without newline").utf8)
            _ = text.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            shutdown(fd, Int32(SHUT_WR))
            let replies = Self.readAll(fd).split(separator: "\n").map(String.init)
            #expect(replies == lines + ["last without newline"])
        }
    }
}
