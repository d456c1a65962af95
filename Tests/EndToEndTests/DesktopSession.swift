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
    /// Xvfb and dunst, when ``showOnScreen()`` started them.
    private var screen: [Process] = []
    /// The X display of ``showOnScreen()``.
    private(set) var display: String?

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

    /// Why a real desktop notification daemon cannot run here, or nil.
    static let missingScreen: String? = {
        for tool in ["/usr/bin/Xvfb", "/usr/bin/dunst", "/usr/bin/dunstctl", "/usr/bin/import"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return "no \(tool) (apt install xvfb dunst imagemagick)"
        }
        return nil
    }()

    /// A real desktop notification daemon as the server: dunst on a virtual X screen (Xvfb),
    /// showing the dosed icon from `data/`.
    func showOnScreen() throws {
        if let missing = Self.missingScreen { throw HarnessError(message: missing) }
        let xvfb = Process()
        xvfb.executableURL = URL(fileURLWithPath: "/usr/bin/Xvfb")
        // -displayfd: Xvfb picks a free display and writes its number once it accepts clients.
        xvfb.arguments = ["-displayfd", "1", "-screen", "0", "800x300x24", "-nolisten", "tcp"]
        let numbers = Pipe()
        xvfb.standardOutput = numbers
        xvfb.standardError = FileHandle.nullDevice
        try launch(xvfb)
        screen.append(xvfb)
        let number = String(decoding: numbers.fileHandleForReading.availableData, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !number.isEmpty else { throw HarnessError(message: "Xvfb did not start") }
        display = ":" + number
        let config = root.appendingPathComponent("dunstrc")
        try """
            [global]
                font = DejaVu Sans 11
                width = 420
                height = 200
                origin = top-right
                offset = 10x10
                icon_path = \(packageRoot.appendingPathComponent("data").path)
                max_icon_size = 48
                frame_width = 2
            [urgency_normal]
                background = "#ffffff"
                foreground = "#1a1a1a"
                frame_color = "#1f4e79"
                timeout = 0
            [urgency_critical]
                background = "#fff4f4"
                foreground = "#1a1a1a"
                frame_color = "#d1495b"
                timeout = 0
            """.write(to: config, atomically: false, encoding: .utf8)
        let dunst = Process()
        dunst.executableURL = URL(fileURLWithPath: "/usr/bin/dunst")
        dunst.arguments = ["-config", config.path]
        dunst.environment = ["PATH": "/usr/bin:/bin", "DISPLAY": display!, "HOME": root.path].merging(environment) { $1 }
        dunst.standardOutput = FileHandle.nullDevice
        dunst.standardError = FileHandle.nullDevice
        try launch(dunst)
        screen.append(dunst)
        server = nil
        guard try tool(["owner"]).status == 0 else { throw HarnessError(message: "dunst did not start") }
    }

    /// `dunstctl count displayed`: notifications on screen now.
    func displayed() throws -> Int? {
        Int(try execute("/usr/bin/dunstctl", ["count", "displayed"], environment: environment).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Waits until `displayed()` is `count` (10 s at most) and returns the last figure.
    func displayed(becomes count: Int) throws -> Int? {
        var figure: Int?
        for _ in 0..<100 {
            figure = try displayed()
            if figure == count { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return figure
    }

    /// A screenshot of the virtual screen, as PNG.
    func screenshot(to file: URL) throws {
        guard let display else { throw HarnessError(message: "no screen") }
        let shot = try execute("/usr/bin/import", ["-display", display, "-window", "root", file.path])
        guard shot.status == 0 else { throw HarnessError(message: "import failed: \(shot.stderr)") }
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
        for process in screen.reversed() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
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
