import ArgumentParser
import DoseCore
import DoseFiles
import DoseProtocol
import DoseStore
import Foundation

/// `dosectl`: the command-line companion of dosed (SPEC 8).
@main
struct Dosectl: ParsableCommand {
    /// The program's name. Each subcommand names it as its super-command, for when it is parsed
    /// on its own (``command(_:)``): its help then says `USAGE: dosectl next …`, not
    /// `USAGE: next …`, and ArgumentParser skips its search for `--generate-completion-script`,
    /// which reflects two more commands. That flag still works: it fails the subcommand's parse,
    /// and the root parses it.
    static let name = "dosectl"

    static let configuration = CommandConfiguration(
        commandName: name,
        abstract: "Check, list and follow your medication schedules; answer dosed's reminders.",
        discussion: """
            Exit status: 0 success; 1 failure (an invalid configuration included); 2 usage error; \
            3 the daemon is needed but not reachable.
            """,
        version: dosedVersion,
        subcommands: [Check.self, List.self, Next.self, Status.self, Watch.self, Take.self, Skip.self, Hold.self, Snooze.self, Amend.self, Undo.self, Report.self, Stock.self, History.self, Adherence.self, NoteCommand.self, Export.self, Med.self, ScheduleCommand.self, Pause.self, Resume.self]
    )

    /// Runs the command; usage errors exit 2 and failures 1, as SPEC 8 fixes.
    static func main() {
        do {
            var command = try command(Amend.separatingStateDirectory(hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst()))))
            try command.run()
        } catch let failure as Failure {
            errorOutput(failure.message)
            Foundation.exit(failure.code)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                errorOutput(fullMessage(for: error))
                Foundation.exit(ExitStatus.usage)
            }
            exit(withError: error)
        }
    }
}

extension Dosectl {
    /// The command `arguments` name. The subcommand they start with is parsed on its own first:
    /// parsing from the root reflects every command of the tree, a third of a short command's
    /// whole run (README, Benchmarks). Whatever does not parse that way (`--help`, `--version`,
    /// completion scripts, a usage error) is parsed from the root, which words its messages and
    /// usage lines for the whole tree, so what a person sees is the same either way.
    static func command(_ arguments: [String]) throws -> any ParsableCommand {
        if let name = arguments.first,
           let subcommand = configuration.subcommands.first(where: { $0.configuration.commandName == name }),
           let command = try? subcommand.parseAsRoot(Array(arguments.dropFirst())) {
            return command
        }
        return try parseAsRoot(arguments)
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

/// The instant a time option (`--at`, `--from`, `--until`, `--since`) names, read in `zone`; a
/// usage error naming the forms it takes otherwise. `allowsDuration`: also `30d` for 30 days ago.
func instant(_ text: String, option: String, command: String, zone: ZoneRules, now: Micros,
             allowsDuration: Bool = false) throws -> Micros {
    guard let instant = TimeInput.parse(text, zone: zone, now: now, allowsDuration: allowsDuration) else {
        throw Failure(message: "dosectl \(command): \(option) '\(text)' is not a time: use \(TimeInput.expected(allowsDuration: allowsDuration))",
                      code: ExitStatus.usage)
    }
    return instant
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

    /// Loads the configuration file by file (SPEC 5): what is valid, with one warning line on
    /// stderr naming the files refused. Fails only when the config dir itself is missing.
    func loadConfiguration() throws -> Configuration {
        let load = ConfigDirectory.load(paths.config)
        if !Paths.isDirectory(paths.config) { throw Failure(message: ConfigErrors(load.errors).description) }
        if let warning = load.warning { errorOutput("dosectl: " + warning) }
        return load.configuration
    }
}

extension GlobalOptions {
    /// The history, read-only use, or nil when there is none yet (reports then show nothing).
    func existingHistory() throws -> HistoryStore? {
        let path = paths.history
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try HistoryStore(path: path)
        } catch {
            throw Failure(message: "dosectl: \(error)")
        }
    }

    /// The stock the history records, per medication (empty without a history).
    func storedStock() throws -> [String: ReminderMachine.Stock] {
        do {
            return try existingHistory()?.stock() ?? [:]
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(message: "dosectl: \(error)")
        }
    }

    /// For `anchor = "taken"` schedules: the last takes in the history, when there is one, as the
    /// daemon's machine knows them (the same query fills its snapshot).
    func lastTakes(_ config: Configuration) throws -> (String, String) -> Micros? {
        let anchored = config.medications.contains { $0.schedules.contains { $0.anchor == .taken } }
        guard anchored, let history = try existingHistory() else { return { _, _ in nil } }
        let takes: [String: Micros]
        do {
            takes = try history.lastTakes(anchoredIn: config)
        } catch {
            throw Failure(message: "dosectl: \(error)")
        }
        return { medication, schedule in takes[medication + "/" + schedule] }
    }

    /// Whether each `[as_needed]` medication may be taken at `now`, from the takes in the
    /// history (none without one), as the daemon decides it.
    func asNeeded(_ config: Configuration, now: Micros) throws -> [String: AsNeededStatus] {
        guard let lookback = config.asNeededLookback else { return [:] }
        let takes: [String: [Micros]]
        do {
            takes = try existingHistory()?.takes(since: now - lookback) ?? [:]
        } catch {
            throw Failure(message: "dosectl: \(error)")
        }
        let all = AsNeededStatus.all(config) { medication, rule in rule.availability(takes: takes[medication.id] ?? [], now: now) }
        return Dictionary(uniqueKeysWithValues: all.map { ($0.medication, $0) })
    }
}

/// A usage error (exit 2) unless `id` matches SPEC 3's id pattern: ids become file names, so one
/// that does not match never reaches a path.
func requireMedicationID(_ id: String) throws {
    guard ConfigDecoder.isValidID(id) else {
        throw ValidationError("'\(id)' is not a medication id (it must match [a-z0-9][a-z0-9_-]*)")
    }
}

/// The current instant, read once per command.
func currentInstant() -> Micros {
    Micros((Date().timeIntervalSince1970 * 1_000_000).rounded(.down))
}

/// Writes `text` and a line end to stdout.
func output(_ text: String, terminator: String = "\n") {
    var text = text + terminator
    text.withUTF8 { output(raw: UnsafeRawBufferPointer($0)) }
}

/// Writes bytes to stdout as they are (a listing is megabytes, written in pieces). When they
/// cannot be written (a full disk, a closed terminal), dosectl says so and exits 1: the output is
/// incomplete, and a script must not take it for whole.
func output(raw bytes: UnsafeRawBufferPointer) {
    if let error = StandardStream.write(bytes, to: STDOUT_FILENO) {
        errorOutput("dosectl: cannot write the output: \(StandardStream.describe(error))")
        exit(ExitStatus.failure)
    }
}

/// Writes a line to stderr (nothing more to do when that fails).
func errorOutput(_ line: String) {
    StandardStream.write(line + "\n", to: STDERR_FILENO)
}

/// JSON text of an encodable value: stable key order, no escaped slashes.
func json<T: Encodable>(_ value: T) throws -> String {
    try RPCMessage.text(value)
}
