import Foundation

/// The config dir, state dir and socket of SPEC 2: the flag, then the environment, then the default
/// of user mode (XDG dirs) or system mode (`--system`).
public struct Paths: Sendable {
    /// Flags as given on the command line (nil when absent).
    public var flags: Flags
    /// The environment consulted after the flags.
    public var environment: [String: String]

    /// `--config`, `--state`, `--socket`, `--system`.
    public struct Flags: Sendable {
        public var config: String?
        public var state: String?
        public var socket: String?
        public var system: Bool
        public init(config: String? = nil, state: String? = nil, socket: String? = nil, system: Bool = false) {
            self.config = config
            self.state = state
            self.socket = socket
            self.system = system
        }
    }

    public init(_ flags: Flags, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.flags = flags
        self.environment = environment
    }

    private func env(_ name: String) -> String? {
        environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    private var home: String { env("HOME") ?? "/root" }

    /// `--config`, `DOSED_CONFIG_DIR`, `$XDG_CONFIG_HOME/dosed` (`~/.config/dosed`) or `/etc/dosed`.
    public var config: String {
        flags.config ?? env("DOSED_CONFIG_DIR")
            ?? (flags.system ? "/etc/dosed" : (env("XDG_CONFIG_HOME") ?? home + "/.config") + "/dosed")
    }

    /// `--state`, `DOSED_STATE_DIR`, `STATE_DIRECTORY`, `$XDG_STATE_HOME/dosed` or `/var/lib/dosed`.
    public var state: String {
        flags.state ?? env("DOSED_STATE_DIR") ?? env("STATE_DIRECTORY")
            ?? (flags.system ? "/var/lib/dosed" : (env("XDG_STATE_HOME") ?? home + "/.local/state") + "/dosed")
    }

    /// The mode of a directory made when missing (SPEC 2): 0700, or 0750 in system mode.
    public var directoryMode: Int { flags.system ? 0o750 : 0o700 }

    /// The history database in the state dir (SPEC 2).
    public var history: String { state + "/history.sqlite" }

    /// `--socket`, `DOSED_SOCKET`, `RUNTIME_DIRECTORY/dosed.sock`, `$XDG_RUNTIME_DIR/dosed/dosed.sock`,
    /// `/run/user/<uid>/dosed/dosed.sock` when that dir exists, or `/run/dosed/dosed.sock`.
    public func socket(userID: UInt32 = getuid(), directoryExists: (String) -> Bool = Paths.isDirectory) throws(NoSocketError) -> String {
        if let path = flags.socket ?? env("DOSED_SOCKET") { return path }
        if let runtime = env("RUNTIME_DIRECTORY") { return runtime + "/dosed.sock" }
        if flags.system { return "/run/dosed/dosed.sock" }
        if let runtime = env("XDG_RUNTIME_DIR") { return runtime + "/dosed/dosed.sock" }
        if directoryExists("/run/user/\(userID)") { return "/run/user/\(userID)/dosed/dosed.sock" }
        throw NoSocketError(userID: userID)
    }

    /// Why no socket path could be chosen.
    public struct NoSocketError: Error, CustomStringConvertible {
        var userID: UInt32
        public var description: String {
            "XDG_RUNTIME_DIR is not set and /run/user/\(userID) does not exist: pass --socket PATH or set DOSED_SOCKET"
        }
    }

    public static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
