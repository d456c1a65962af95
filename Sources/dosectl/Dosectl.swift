import ArgumentParser
import DoseCore
import DoseFiles
import DoseProtocol
import Foundation

/// `dosectl`: the command-line companion of dosed (SPEC 8).
@main
struct Dosectl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dosectl",
        abstract: "Check, list and follow your medication schedules; answer dosed's reminders.",
        subcommands: [Check.self, List.self, Next.self, Status.self, Watch.self, Take.self, Skip.self, Snooze.self, Stock.self, History.self, Adherence.self, NoteCommand.self, Export.self, Med.self, ScheduleCommand.self, Pause.self, Resume.self]
    )

    /// Runs the command; usage errors exit 2 and failures 1, as SPEC 8 fixes.
    static func main() {
        do {
            var command = try parseAsRoot(hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let failure as Failure {
            FileHandle.standardError.write(Data((failure.message + "\n").utf8))
            Foundation.exit(failure.code)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(ExitStatus.usage)
            }
            exit(withError: error)
        }
    }
}

/// Moves global options written before the subcommand (`dosectl --config X take`) behind it,
/// where the subcommand's option group reads them.
func hoistingGlobalOptions(_ arguments: [String]) -> [String] {
    var leading: [String] = []
    var rest = arguments[...]
    while let first = rest.first, first.hasPrefix("--") {
        let name = String(first.prefix { $0 != "=" })
        if name == "--system" {
            leading.append(first)
            rest = rest.dropFirst()
        } else if ["--config", "--state", "--socket"].contains(name) {
            leading.append(first)
            rest = rest.dropFirst()
            if !first.contains("="), let value = rest.first {
                leading.append(value)
                rest = rest.dropFirst()
            }
        } else {
            break
        }
    }
    guard !leading.isEmpty else { return arguments }
    var result = Array(rest)
    result.insert(contentsOf: leading, at: result.firstIndex(of: "--") ?? result.endIndex)
    return result
}

/// SPEC 8's exit codes.
enum ExitStatus {
    static let failure: Int32 = 1
    static let usage: Int32 = 2
    static let daemonUnreachable: Int32 = 3
}

/// An error that ends the command with a message on stderr and an exit code.
struct Failure: Error {
    var message: String
    var code: Int32 = ExitStatus.failure
}

/// `--config`, `--state`, `--socket`, `--system`: the same in every subcommand and in dosed.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Config directory (default: $XDG_CONFIG_HOME/dosed or /etc/dosed).")
    var config: String?

    @Option(name: .long, help: "State directory holding history.sqlite.")
    var state: String?

    @Option(name: .long, help: "The daemon's socket.")
    var socket: String?

    @Flag(name: .long, help: "Use the system-wide paths (/etc/dosed, /var/lib/dosed, /run/dosed).")
    var system = false

    var paths: Paths {
        Paths(Paths.Flags(config: config, state: state, socket: socket, system: system))
    }

    /// Loads the configuration, or fails with every error as FILE:LINE:COLUMN.
    func loadConfiguration() throws -> Configuration {
        switch ConfigDirectory.load(paths.config) {
        case .success(let config): return config
        case .failure(let errors): throw Failure(message: errors.description)
        }
    }
}

/// The current instant, read once per command.
func currentInstant() -> Micros {
    Micros((Date().timeIntervalSince1970 * 1_000_000).rounded(.down))
}

/// Writes a line to stdout.
func output(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// JSON text of an encodable value: stable key order, no escaped slashes.
func json<T: Encodable>(_ value: T) throws -> String {
    try RPCMessage.text(value)
}
