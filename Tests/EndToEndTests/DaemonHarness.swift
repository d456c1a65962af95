import DoseProtocol
import Foundation
import Testing

/// A real `dosed` on a temporary config dir, state dir and socket, and clients to talk to it.
final class DaemonHarness: @unchecked Sendable {
    let root: URL
    var config: URL { root.appendingPathComponent("config") }
    var state: URL { root.appendingPathComponent("state") }
    var socket: String { root.appendingPathComponent("dosed.sock").path }
    private(set) var process: Process?
    /// dosed's stderr goes to a file, so a full pipe can never block it.
    var stderrFile: URL { root.appendingPathComponent("dosed.stderr") }

    /// Flags naming this harness's paths, for dosed and dosectl.
    var flags: [String] { ["--config", config.path, "--state", state.path, "--socket", socket] }

    init(medications: [String: String], main: String? = nil) throws {
        root = URL(fileURLWithPath: "/tmp").appendingPathComponent("dosed-d-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: config.appendingPathComponent("medications"), withIntermediateDirectories: true)
        for (id, text) in medications { try write(id, text) }
        if let main { try replaceFile(config.appendingPathComponent("dosed.toml"), with: main) }
    }

    /// Writes (or replaces) a medication file.
    func write(_ id: String, _ text: String) throws {
        try replaceFile(config.appendingPathComponent("medications/\(id).toml"), with: text)
    }

    /// Starts dosed (behind `launcher`, e.g. systemd-socket-activate) and waits until its socket answers.
    func start(launcher: [String] = [], environment: [String: String] = [:]) throws {
        let process = Process()
        if let first = launcher.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(launcher.dropFirst()) + [product("dosed").path] + flags
        } else {
            process.executableURL = product("dosed")
            process.arguments = flags
        }
        process.environment = ["PATH": "/usr/bin:/bin", "TZ": "UTC", "HOME": root.path].merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: stderrFile)
        log.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = FileHandle.nullDevice
        try launch(process)
        try log.close()
        self.process = process
        for _ in 0..<200 {
            if let client = RPCClient(path: socket), (try? client.call("status")) != nil { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw HarnessError(message: "dosed did not start: " + stderrText())
    }

    var pid: Int32 { process?.processIdentifier ?? 0 }

    /// Starts dosed on this harness's paths as systemd starts a service (``spawnUnblocked(_:_:environment:stderr:)``),
    /// its stderr on `stderr` when given. The caller waits for it.
    func spawnAsService(stderr: Int32? = nil) throws -> pid_t {
        unlink(socket)
        return try spawnUnblocked(product("dosed").path, flags, environment: ["PATH=/usr/bin:/bin", "TZ=UTC", "HOME=\(root.path)"],
                                  stderr: stderr)
    }

    /// What dosed wrote to stderr so far.
    func stderrText() -> String {
        (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
    }

    /// SIGTERM, and waits (SIGKILL after 10 s, so no test leaves a daemon behind).
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        for _ in 0..<200 where process.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGKILL, and waits.
    func kill9() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func remove() {
        stop()
        try? FileManager.default.removeItem(at: root)
    }

    /// A connected client.
    func client() throws -> RPCClient {
        guard let client = RPCClient(path: socket) else { throw HarnessError(message: "cannot connect to \(socket)") }
        return client
    }

    /// Runs dosectl with this harness's paths.
    func dosectl(_ arguments: [String]) throws -> Outcome {
        try execute("dosectl", arguments + flags, environment: ["TZ": "UTC"])
    }

    /// The journal entries this daemon process wrote, waiting until `until` holds (or 8 s pass).
    func journal(pid: Int32? = nil, until done: ([[String: String]]) -> Bool) throws -> [[String: String]] {
        var entries: [[String: String]] = []
        for _ in 0..<80 {
            let outcome = try execute("/usr/bin/journalctl", ["-o", "json", "--no-pager", "_PID=\(pid ?? self.pid)"])
            entries = outcome.stdout.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }.map { $0.compactMapValues { $0 as? String } }
            if done(entries) { return entries }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return entries
    }

    /// Local date-time text `seconds` from now, in UTC, for `first = …`.
    static func local(_ seconds: Double) -> String {
        let date = Date(timeIntervalSinceNow: seconds)
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.string(from: date)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A datagram socket standing in for systemd's `NOTIFY_SOCKET`.
final class NotifyListener: @unchecked Sendable {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw HarnessError(message: "cannot bind \(path)") }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Messages received within `seconds`, until `done` holds.
    func messages(within seconds: Double, until done: ([String]) -> Bool) -> [String] {
        var received: [String] = []
        let end = Date(timeIntervalSinceNow: seconds)
        while Date() < end, !done(received) {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { received.append(String(decoding: buffer[..<n], as: UTF8.self)) }
        }
        return received
    }
}

/// Whether a systemd journal is there to read back.
let journalAvailable = FileManager.default.fileExists(atPath: "/run/systemd/journal/socket")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/journalctl")

/// A line-oriented JSON-RPC client over the daemon's Unix socket, with a receive timeout.
final class RPCClient: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var nextID = 1

    init?(path: String, timeout: Double = 10) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else {
            close(fd)
            return nil
        }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func sendLine(_ text: String) {
        let data = Array((text + "\n").utf8)
        var offset = 0
        while offset < data.count {
            let n = data[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// The next line as JSON; nil on timeout or end of stream.
    func readJSON() -> [String: Any]? {
        guard let line = readLine() else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return nil }
            buffer += chunk[..<n]
        }
    }

    /// Sends a request and returns its reply object.
    @discardableResult
    func call(_ method: String, _ params: [String: Any]? = nil) throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var request: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method]
        if let params { request["params"] = params }
        sendLine(String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self))
        while let reply = readJSON() {
            if reply["id"] as? Int == id { return reply }
        }
        throw HarnessError(message: "no reply to \(method)")
    }

    /// Calls `method` and returns its reply with every notification that arrived before it (the
    /// methods of what a subscription delivered meanwhile).
    func callCollecting(_ method: String) throws -> (reply: [String: Any], notifications: [String]) {
        let id = nextID
        nextID += 1
        sendLine(#"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)"}"#)
        var notifications: [String] = []
        while let message = readJSON() {
            if message["id"] as? Int == id { return (message, notifications) }
            if let name = message["method"] as? String { notifications.append(name) }
        }
        throw HarnessError(message: "no reply to \(method)")
    }

    /// Reads notifications until one with `method` arrives.
    func notification(_ method: String) -> [String: Any]? {
        while let message = readJSON() {
            if message["method"] as? String == method { return message }
        }
        return nil
    }
}
