import Foundation
import Testing

/// A private session bus (a real `dbus-daemon`) and a notification server on it: python-dbusmock's
/// `notification_daemon` template, which records every call and emits signals as a server does.
final class DesktopSession: @unchecked Sendable {
    let root: URL
    var address: String { "unix:path=" + root.appendingPathComponent("bus").path }
    /// The environment that points dosed and the tools at this bus.
    var environment: [String: String] { ["DBUS_SESSION_BUS_ADDRESS": address] }
    private let bus: Process
    private var server: Process?

    static let tool = packageRoot.appendingPathComponent("Tests/Tools/notifications.py").path
    static let python = "/usr/bin/python3"

    /// Why the desktop tests cannot run here, or nil. `make test` installs what they need and
    /// sets `DOSED_REQUIRE_DESKTOP=1`, so there they fail instead of skipping.
    static let missing: String? = {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/dbus-daemon") else { return "no dbus-daemon (apt install dbus)" }
        guard (try? execute(python, ["-c", "import dbusmock"]))?.status == 0 else {
            return "no python-dbusmock (apt install python3-dbusmock)"
        }
        return nil
    }()

    static var runs: Bool {
        if let missing = missing {
            print("desktop notification tests skipped: \(missing)")
            return ProcessInfo.processInfo.environment["DOSED_REQUIRE_DESKTOP"] == "1"
        }
        return true
    }

    init() throws {
        if let missing = Self.missing { throw HarnessError(message: missing) }
        root = URL(fileURLWithPath: "/tmp").appendingPathComponent("dosed-b-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        // A session bus without service activation: a server runs only when a test starts one
        // (the machine's session.conf would start any installed server, dunst's included).
        let config = root.appendingPathComponent("bus.conf")
        try """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:path=\(root.appendingPathComponent("bus").path)</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
                <allow own="*"/>
              </policy>
            </busconfig>
            """.write(to: config, atomically: false, encoding: .utf8)
        bus = Process()
        bus.executableURL = URL(fileURLWithPath: "/usr/bin/dbus-daemon")
        bus.arguments = ["--config-file=\(config.path)", "--nofork", "--nopidfile"]
        bus.standardOutput = FileHandle.nullDevice
        bus.standardError = FileHandle.nullDevice
        try launch(bus)
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: root.appendingPathComponent("bus").path) {
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Starts a notification server with these capabilities and waits until it owns its name.
    func serve(capabilities: String = "body actions") throws {
        try startServer(["serve", capabilities])
    }

    /// Starts a "server" that owns the name and never answers.
    func hang() throws {
        try startServer(["hang"])
    }

    private func startServer(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.tool] + arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try launch(process)
        server = process
        guard try tool(["owner"]).status == 0 else { throw HarnessError(message: "the notification server did not start") }
    }

    /// Kills the notification server, as a crash would.
    func killServer() {
        guard let server else { return }
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        self.server = nil
    }

    @discardableResult
    func tool(_ arguments: [String]) throws -> Outcome {
        try execute(Self.python, [Self.tool] + arguments, environment: environment)
    }

    /// The server's recorded calls: `[method, arguments...]` each.
    func calls() throws -> [[Any]] {
        try tool(["calls"]).stdout.split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Any]
        }
    }

    /// The recorded calls once `done` holds (or after 10 s).
    func calls(until done: ([[Any]]) -> Bool) throws -> [[Any]] {
        var calls: [[Any]] = []
        for _ in 0..<100 {
            calls = try self.calls()
            if done(calls) { return calls }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return calls
    }

    /// `ActionInvoked(id, key)` from the server, as when the user presses a button.
    func press(_ key: String, on id: Int) throws {
        try tool(["emit", String(id), key])
    }

    func close() {
        killServer()
        // A private bus that nothing else uses: no graceful stop needed.
        kill(bus.processIdentifier, SIGKILL)
        bus.waitUntilExit()
        try? FileManager.default.removeItem(at: root)
    }
}

/// One recorded `Notify` call, by name.
struct NotifyCall {
    var replaces: Int
    var appName, icon, summary, body: String
    var actions: [String]
    var hints: [String: Any]
    var expire: Int

    init?(_ call: [Any]) {
        guard call.count == 9, call[0] as? String == "Notify", let appName = call[1] as? String,
              let replaces = call[2] as? Int, let icon = call[3] as? String, let summary = call[4] as? String,
              let body = call[5] as? String, let actions = call[6] as? [String], let hints = call[7] as? [String: Any],
              let expire = call[8] as? Int else { return nil }
        (self.appName, self.replaces, self.icon, self.summary, self.body) = (appName, replaces, icon, summary, body)
        (self.actions, self.hints, self.expire) = (actions, hints, expire)
    }

    static func all(_ calls: [[Any]]) -> [NotifyCall] { calls.compactMap(NotifyCall.init) }
}

/// The ids of recorded `CloseNotification` calls.
func closedIDs(_ calls: [[Any]]) -> [Int] {
    calls.filter { $0.first as? String == "CloseNotification" }.compactMap { $0.count > 1 ? $0[1] as? Int : nil }
}
