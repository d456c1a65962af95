import DoseProtocol
import Foundation

/// A blocking JSON-RPC client of the daemon's socket: one request, one reply line.
final class DaemonClient {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var nextID = 1

    /// Connects, or returns nil when no daemon listens at `path`.
    init?(path: String) {
        guard let fd = UnixSocket.connect(to: path) else { return nil }
        self.fd = fd
    }

    deinit { close(fd) }

    /// A reply's error.
    struct Failure: Error {
        var code: Int
        var message: String
    }

    /// Sends a request and waits for its reply: the result, or the error it carries.
    func call(_ method: RPCMethod, _ params: some Encodable = RPCParams.None()) throws -> JSONValue {
        let id = nextID
        nextID += 1
        // A daemon that refuses this client answers, then closes: its answer is read even when
        // the request could not be written any more.
        let sent = Result {
            try send(RPCRequest(id: .integer(Int64(id)), method: method.rawValue, params: JSONValue(encoding: params)).json)
        }
        guard let reply = try readLine() else {
            try sent.get()
            throw Failure(code: -32000, message: "the daemon closed the connection")
        }
        if let error = reply["error"] {
            let code = error["code"]?.intValue ?? -32000
            throw Failure(code: code, message: error["message"]?.stringValue ?? "error \(code)")
        }
        return reply["result"] ?? .null
    }

    func send(_ value: JSONValue) throws {
        let data = Array((RPCMessage.line(value) + "\n").utf8)
        var offset = 0
        while offset < data.count {
            // MSG_NOSIGNAL: a closed connection is an error here, not a SIGPIPE that kills dosectl.
            let written = data[offset...].withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw Failure(code: -32000, message: "could not write to the daemon") }
            offset += written
        }
    }

    /// The next line from the daemon as JSON, or nil at the end of the stream.
    func readLine() throws -> JSONValue? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return try JSONDecoder().decode(JSONValue.self, from: line)
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { return nil }
            buffer += chunk[..<count]
        }
    }
}
