import ArgumentParser
import DoseDaemon
import DoseFiles
import DoseProtocol
import Foundation
import Logging

/// `dosed`: parse the flags, build the daemon, start it, and serve until SIGTERM.
@main
struct Dosed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dosed",
        abstract: "The dosed medication-reminder daemon, in the foreground.",
        discussion: """
            Reminds every dose of the configuration through the systemd journal and the socket, \
            and keeps the history. Journal entries also go to stderr on a terminal or without a journal. \
            See dosed(8) and dosed.toml(5).
            """,
        version: dosedVersion)

    @Option(help: "Config directory (default: $XDG_CONFIG_HOME/dosed, or /etc/dosed with --system).")
    var config: String?

    @Option(help: "State directory holding history.sqlite (default: $XDG_STATE_HOME/dosed, or /var/lib/dosed).")
    var state: String?

    @Option(help: "The socket to serve (default: $XDG_RUNTIME_DIR/dosed/dosed.sock, or /run/dosed/dosed.sock).")
    var socket: String?

    @Flag(help: "Use the system-wide paths (/etc/dosed, /var/lib/dosed, /run/dosed).")
    var system = false

    /// Usage errors exit 2 (as dosectl's do), `--help` and `--version` 0.
    static func main() {
        let command: Dosed
        do {
            command = try parse()
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            StandardStream.write(fullMessage(for: error) + "\n", to: STDERR_FILENO)
            Foundation.exit(2)
        }
        command.serve()
    }

    func run() throws { serve() }

    func serve() -> Never {
        Daemon.prepareSignals()  // before any thread exists
        LoggingSystem.bootstrap { _ in StderrLogHandler() }
        let logger = Logger(label: "dosed")
        let flags = Paths.Flags(config: config, state: state, socket: socket, system: system)
        let daemon: Daemon
        do {
            daemon = try buildDaemon(flags: flags, logger: logger)
            try daemon.start()
        } catch {
            // One clear line, exit 1: never a trap on the way out.
            StandardStream.write("dosed: \(error)\n", to: STDERR_FILENO)
            Foundation.exit(1)
        }
        daemon.handleSignals()
    }
}
