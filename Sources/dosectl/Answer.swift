import ArgumentParser
import DoseCore
import DoseFiles
import DoseProtocol
import DoseStore
import Foundation

/// Where answers go: the daemon when it runs, else the history directly (SPEC 8).
struct Answering {
    let global: GlobalOptions
    let config: Configuration

    init(global: GlobalOptions) throws {
        self.global = global
        config = try global.loadConfiguration()
    }

    /// The running daemon, if one answers on the socket.
    var daemon: DaemonClient? {
        (try? global.paths.socket()).flatMap(DaemonClient.init(path:))
    }

    /// The daemon, or a failure with exit code 3.
    func requireDaemon() throws -> DaemonClient {
        let path: String
        do {
            path = try global.paths.socket()
        } catch {
            throw Failure(message: "dosectl: \(error)", code: ExitStatus.daemonUnreachable)
        }
        guard let client = DaemonClient(path: path) else {
            throw Failure(message: "dosectl: dosed is not running (no daemon at \(path))", code: ExitStatus.daemonUnreachable)
        }
        return client
    }

    /// Calls a method on the daemon; its errors become failures with their message.
    func call(_ client: DaemonClient, _ method: RPCMethod, _ params: some Encodable = RPCParams.None()) throws -> JSONValue {
        do {
            return try client.call(method, params)
        } catch let failure as DaemonClient.Failure {
            throw Failure(message: "dosectl \(method.rawValue): \(failure.message)")
        }
    }

    /// Opens the history for writing without the daemon, noting the schedules dosectl has seen.
    /// To answer (`lock`), it takes the history's shared lock (``HistoryLock``): a dosed that runs
    /// on this history but does not answer on the socket dosectl knows is never answered behind
    /// its back (exit 3). Notes need no lock: the daemon never writes them.
    func openStore(lock: Bool = false, for method: String = "") throws -> HistoryStore {
        do {
            let store = try HistoryStore(path: global.paths.history, directoryMode: global.paths.directoryMode,
                                         lock: lock ? .dosectl : nil)
            try store.noteSchedulesSeen(of: config, at: currentInstant())
            return store
        } catch let error as HistoryStore.OpenError where error.heldBy == .daemon {
            let socket = (try? global.paths.socket()) ?? "its socket"
            throw Failure(message: "dosectl \(method): dosed runs on the history \(global.paths.history) but does not answer at \(socket) "
                + "(started with another --socket or DOSED_SOCKET, or its socket was removed: restart it); nothing was recorded",
                          code: ExitStatus.daemonUnreachable)
        } catch {
            throw Failure(message: "dosectl: \(error)")
        }
    }

    /// A reminder machine over the stored history, to answer without the daemon.
    func offlineMachine(_ store: HistoryStore, now: Micros) throws -> ReminderMachine {
        let longest = config.longestWindow
        var snapshot = try store.snapshot(longestWindow: longest, takesSince: config.asNeededLookback.map { now - $0 })
        // Answers need only the records; catching up is the daemon's job.
        snapshot.lastAlive = now
        return ReminderMachine(config: config, snapshot: snapshot, now: now)
    }

    /// Who answers without the daemon: this uid, on the command line.
    static let origin = Origin(uid: getuid(), channel: .cli)

    /// Runs one change of an offline machine over the history and saves what it made (events are
    /// the daemon's to tell).
    func offline<T>(_ method: String,
                    _ change: (inout ReminderMachine, HistoryStore, Micros) throws -> Result<(T, [ReminderMachine.Action]), ReminderMachine.AnswerError>)
        throws -> T {
        let store = try openStore(lock: true, for: method)
        let now = currentInstant()  // once the lock is held: after any answer the daemon made
        var machine = try offlineMachine(store, now: now)
        switch try change(&machine, store, now) {
        case .failure(let error):
            throw Failure(message: "dosectl \(method): \(error.message)")
        case .success(let (result, actions)):
            try store.apply(actions)
            return result
        }
    }

    /// Answers `target` (a dose id, a medication, or nil for the earliest dose due).
    func answer(_ target: String?, rpc method: RPCMethod, params: some DoseTargetParams,
                local: ReminderMachine.Answer, force: Bool = false) throws -> DoseMessage {
        let now = currentInstant()
        if let client = daemon {
            var params = params
            params.channel = Origin.Channel.cli.rawValue
            if let target {
                if target.contains("@") { params.dose = target } else { params.medication = target }
            } else {
                let status = try call(client, .status).decode(as: StatusResult.self)
                guard let first = status.due.first else {
                    throw Failure(message: "dosectl \(method.rawValue): no dose is due; name a medication or a dose id")
                }
                params.dose = first.id
            }
            return try call(client, method, params).decode(as: DoseMessage.self)
        }
        let record = try offline(method.rawValue) { machine, _, now in
            let resolved: ReminderMachine.Target
            if let target {
                resolved = target.contains("@") ? .dose(target) : .medication(target)
            } else {
                guard let first = machine.due(at: now).first ?? config.medications.lazy.compactMap({ [machine] in
                    try? machine.find(.medication($0.id), now: now, allowEarly: false).get()
                }).first else {
                    throw Failure(message: "dosectl \(method): no dose is due; name a medication or a dose id")
                }
                resolved = .dose(first.id)
            }
            return machine.answer(local, for: resolved, now: now, force: force, by: Self.origin)
        }
        return DoseMessage(record, config: config, now: now)
    }
}

/// One line saying what happened to a dose.
func describe(_ dose: DoseMessage) -> String {
    var parts = ["\(dose.state.rawValue): \(dose.medication_name)"]
    if let text = dose.dose { parts[0] += ", \(text)" }
    if let site = dose.site, dose.state == .taken { parts.append("site: \(site)") }
    if let until = dose.snoozed_until { parts.append("until \(until)") }
    if dose.late == true { parts.append("late") }
    return parts.joined(separator: " — ") + "  [\(dose.id)]"
}

extension Dosectl {
    /// `dosectl take`.
    struct Take: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "take",
            _superCommandName: Dosectl.name,
            abstract: "Record a dose as taken (through dosed when it runs, else directly in the history).")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "A dose id or a medication (default: the earliest dose due).") var target: String?
        @Option(help: "When it was taken (default: now).") var at: String?
        @Option(help: "The injection site used (default: the suggested one).") var site: String?
        @Option(help: "A note: how it went.") var note: String?
        @Flag(help: "Record a take as needed even beyond its limits (a limit-exceeded event is written).") var force = false
        @Flag(help: "Print the dose as JSON.") var json = false

        func run() throws {
            let answering = try Answering(global: global)
            let when = try at.map { try instant($0, option: "--at", command: "take", zone: answering.config.zone, now: currentInstant()) }
            let params = RPCParams.Take(at: when.map(RFC3339.utc), site: site, note: note, force: force ? true : nil)
            let dose = try answering.answer(target, rpc: .take, params: params, local: .take(at: when, site: site, note: note),
                                            force: force)
            output(json ? try dosectl.json(dose) : describe(dose))
        }
    }

    /// `dosectl skip`.
    struct Skip: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "skip", _superCommandName: Dosectl.name, abstract: "Record a dose as skipped.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "A dose id or a medication (default: the earliest dose due).") var target: String?
        @Option(help: "Why.") var reason: String?
        @Flag(help: "Print the dose as JSON.") var json = false

        func run() throws {
            let answering = try Answering(global: global)
            let dose = try answering.answer(target, rpc: .skip, params: RPCParams.Skip(reason: reason), local: .skip(reason: reason))
            output(json ? try dosectl.json(dose) : describe(dose))
        }
    }

    /// `dosectl hold`: a dose the care team withheld (SPEC 10).
    struct Hold: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hold",
            _superCommandName: Dosectl.name,
            abstract: "Record a dose as held: withheld by the care team, never reminded, not counted in adherence.",
            discussion: "With a medication, the dose due now, else its next one; with a dose id, any dose to come.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "A dose id or a medication (default: the earliest dose due).") var target: String?
        @Option(help: "Why, e.g. \"low blood pressure\".") var reason: String?
        @Flag(help: "Print the dose as JSON.") var json = false

        func run() throws {
            let answering = try Answering(global: global)
            let dose = try answering.answer(target, rpc: .hold, params: RPCParams.Skip(reason: reason), local: .hold(reason: reason))
            output(json ? try dosectl.json(dose) : describe(dose))
        }
    }

    /// `dosectl snooze`.
    struct Snooze: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "snooze", _superCommandName: Dosectl.name, abstract: "Postpone a due dose's reminder (never past its window).")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "A dose id or a medication (default: the earliest dose due).") var target: String?
        @Argument(help: "How long, e.g. 15m (default 15m).") var duration: String = "15m"
        @Flag(help: "Print the dose as JSON.") var json = false

        mutating func validate() throws {
            // `snooze 10m` names a duration, not a medication.
            if let target, duration == "15m", case .success = DurationText.parse(target) {
                duration = target
                self.target = nil
            }
            switch DurationText.parse(duration) {
            case .success(let span) where span > 0: break
            case .success: throw ValidationError("a snooze must be longer than zero")
            case .failure(let error): throw ValidationError("\(error)")
            }
        }

        func run() throws {
            let answering = try Answering(global: global)
            guard case .success(let span) = DurationText.parse(duration) else { return }
            let asked = currentInstant()
            let dose = try answering.answer(target, rpc: .snooze, params: RPCParams.Snooze(for: duration), local: .snooze(span))
            if json {
                output(try dosectl.json(dose))
                return
            }
            output(describe(dose))
            // Say when the window cut the snooze short, and why.
            let config = answering.config
            if let until = dose.snoozed_until.flatMap(RFC3339.parse), let due = RFC3339.parse(dose.due),
               let schedule = config.medication(dose.medication)?.schedule(dose.schedule),
               until - asked < span - Civil.second {
                let zone = config.zone(for: schedule)
                output("snoozed until \(Presentation.clock(until, zone: zone)), not \(duration) — the window closes at \(Presentation.clock(due + schedule.window, zone: zone))")
            }
        }
    }

    /// `dosectl stock`.
    struct Stock: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stock",
            _superCommandName: Dosectl.name,
            abstract: "Show the doses on hand, or record a new count or a refill in the history.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The medication.") var medication: String
        @Option(parsing: .unconditional, help: "Doses on hand now (0 to \(Limits.stock)).") var set: Int?
        @Option(parsing: .unconditional, help: "Doses added, a refill (1 to \(Limits.stock)).") var add: Int?

        func validate() throws {
            try requireMedicationID(medication)
            guard set == nil || add == nil else { throw ValidationError("give at most one of --set and --add") }
            if let set, !(0...Limits.stock).contains(set) { throw ValidationError(Limits.message("--set", 0...Limits.stock, set)) }
            if let add, !(1...Limits.stock).contains(add) { throw ValidationError(Limits.message("--add", 1...Limits.stock, add)) }
        }

        func run() throws {
            let answering = try Answering(global: global)
            guard let configured = answering.config.medication(medication) else {
                throw Failure(message: "dosectl stock: no medication '\(medication)'")
            }
            guard set != nil || add != nil else {
                let onHand = ReminderMachine.Stock.onHand(stored: try global.storedStock()[medication], configured: configured.stock)
                guard let onHand else {
                    output("\(medication): no stock recorded (set it with --set N)")
                    return
                }
                let runsOut = answering.config.runsOut(medication, stock: onHand, after: currentInstant(),
                                                       lastTaken: try global.lastTakes(answering.config))
                let zone = answering.config.zone
                output("\(medication): \(onHand) on hand" + (runsOut.map { "; runs out \(Presentation.localTime($0, zone: zone))" } ?? ""))
                return
            }
            if let client = answering.daemon {
                let params = RPCParams.Stock(medication: medication, set: set, add: add)
                let result = try answering.call(client, .stock, params).decode(as: StockStatus.self)
                output("\(medication): \(result.stock) on hand")
                return
            }
            let onHand = try answering.offline("stock") { machine, _, now in
                let result = machine.refill(medication, amount: set ?? add!, add: add != nil, now: now)
                let onHand = machine.stock[medication]?.value ?? 0
                return result.map { (onHand, $0) }
            }
            output("\(medication): \(onHand) on hand")
        }
    }

    /// `dosectl status`.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", _superCommandName: Dosectl.name, abstract: "The daemon's status and what is due now.")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print the status object (SPEC 6) and nothing else.") var json = false

        func run() throws {
            let answering = try Answering(global: global)
            let status = try answering.call(try answering.requireDaemon(), .status).decode(as: StatusResult.self)
            if json {
                output(try dosectl.json(status))
                return
            }
            output("dosed \(status.version), running since \(status.started), \(status.schedules) schedule(s)")
            if let problem = status.history_error { output("the history is out of reach (\(problem)): answers are not recorded") }
            if status.due.isEmpty { output("Nothing is due.") }
            for dose in status.due { output(describe(dose)) }
            if let next = status.next { output("next: \(next.medication_name) at \(next.due_local)  [\(next.id)]") }
            for stock in status.stock ?? [] {
                output("stock: \(stock.medication): \(stock.stock) on hand" + (stock.runs_out.map { "; runs out \($0)" } ?? ""))
            }
            for entry in status.as_needed ?? [] {
                output("as needed: \(entry.medication_name): \(Presentation.availability(entry, zone: answering.config.zone))")
            }
        }
    }

    /// `dosectl watch`.
    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "watch", _superCommandName: Dosectl.name, abstract: "Stream events live until interrupted.")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "One notification object per line.") var json = false
        @Option(help: "Only these events (comma-separated DOSED_EVENT names).") var events: String?

        func run() throws {
            let answering = try Answering(global: global)
            let client = try answering.requireDaemon()
            let filter = events.map { $0.split(separator: ",").map(String.init) }
            _ = try answering.call(client, .subscribe, RPCParams.Subscribe(events: filter))
            while let notification = try client.readLine() {
                guard let method = notification["method"]?.stringValue else { continue }
                if json {
                    output(RPCMessage.line(notification))
                } else if let dose = try? notification["params"]?.decode(as: DoseMessage.self) {
                    output("\(method): \(dose.medication_name) due \(dose.due_local) [\(dose.id)]" + (dose.site.map { " site: \($0)" } ?? ""))
                } else if let notice = try? notification["params"]?.decode(as: EventNotice.self) {
                    output("\(method): \(notice.message)")
                } else {
                    output("\(method)")
                }
            }
        }
    }
}

extension Dosectl {
    /// `dosectl amend`: corrects an answer, keeping the old one in the audit trail (SPEC 10).
    struct Amend: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "amend",
            _superCommandName: Dosectl.name,
            abstract: "Correct a dose's answer, with a reason (the earlier answer stays in the audit trail).",
            discussion: """
                --state open reopens a dose whose window is still open (its reminders resume from now), \
                or withdraws an unscheduled take. A correction to taken, or away from it, moves the stock by one. \
                Here --state names the new state: give the state directory as --state-dir DIR (a --state \
                whose value is not a state name is read as the state directory too).
                """)

        @Option(help: "Config directory (default: $XDG_CONFIG_HOME/dosed or /etc/dosed).") var config: String?
        @Option(help: "State directory holding history.sqlite (the global --state).") var stateDir: String?
        @Option(help: "The daemon's socket.") var socket: String?
        @Flag(help: "Use the system-wide paths (/etc/dosed, /var/lib/dosed, /run/dosed).") var system = false
        @Argument(help: "The dose id.") var dose: String
        @Option(help: "taken, skipped, missed, held or open.") var state: String
        @Option(help: "When it was taken (with --state taken; default: when it was due).") var at: String?
        @Option(help: "The injection site used (with --state taken).") var site: String?
        @Option(help: "Why the answer is corrected (required).") var reason: String
        @Flag(help: "Print the dose as JSON.") var json = false

        /// The global options, with the state directory from `--state-dir`.
        var global: GlobalOptions {
            get throws {
                var arguments = system ? ["--system"] : []
                for (flag, value) in [("--config", config), ("--state", stateDir), ("--socket", socket)] {
                    if let value { arguments += [flag, value] }
                }
                return try GlobalOptions.parse(arguments)
            }
        }

        /// In `amend`, the global `--state DIR` and the new `--state S` share a name (SPEC 8): a
        /// `--state` whose value is not a state name is the state directory (`--state-dir`).
        static func separatingStateDirectory(_ arguments: [String]) -> [String] {
            guard arguments.first(where: { !$0.hasPrefix("-") }) == "amend" else { return arguments }
            var result: [String] = []
            var index = arguments.startIndex
            while index < arguments.endIndex {
                let argument = arguments[index]
                if argument == "--state", index + 1 < arguments.endIndex,
                   ReminderMachine.Correction.parse(arguments[index + 1], at: nil, site: nil) == nil {
                    result += ["--state-dir", arguments[index + 1]]
                    index += 2
                    continue
                }
                if argument.hasPrefix("--state="),
                   ReminderMachine.Correction.parse(String(argument.dropFirst("--state=".count)), at: nil, site: nil) == nil {
                    result.append("--state-dir=" + argument.dropFirst("--state=".count))
                } else {
                    result.append(argument)
                }
                index += 1
            }
            return result
        }

        func validate() throws {
            guard ReminderMachine.Correction.parse(state, at: nil, site: nil) != nil else {
                throw ValidationError("--state must be \(ReminderMachine.Correction.names), not '\(state)'")
            }
            guard state == "taken" || (at == nil && site == nil) else {
                throw ValidationError("--at and --site go with --state taken only")
            }
            guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ValidationError("--reason must say why the answer is corrected")
            }
        }

        func run() throws {
            let answering = try Answering(global: try global)
            let now = currentInstant()
            let when = try at.map { try instant($0, option: "--at", command: "amend", zone: answering.config.zone, now: now) }
            let message: DoseMessage
            if let client = answering.daemon {
                let params = RPCParams.Amend(dose: dose, state: state, at: when.map(RFC3339.utc), site: site, reason: reason,
                                             channel: Origin.Channel.cli.rawValue)
                message = try answering.call(client, .amend, params).decode(as: DoseMessage.self)
            } else {
                let correction = ReminderMachine.Correction.parse(state, at: when, site: site)!
                let record = try answering.offline("amend") { machine, store, now in
                    let stored = try store.record(dose, ifForgottenBy: machine)
                    return machine.amend(dose, to: correction, reason: reason, stored: stored, now: now, by: Answering.origin)
                }
                message = DoseMessage(record, config: answering.config, now: now)
            }
            output(json ? try dosectl.json(message) : describe(message) + "  (corrected: \(message.reason ?? reason))")
        }
    }

    /// `dosectl undo`: takes back this uid's last answer of the last 15 minutes (SPEC 10).
    struct Undo: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "undo",
            _superCommandName: Dosectl.name,
            abstract: "Take back your last answer of the last 15 minutes: the dose is due again, or an unscheduled take is withdrawn.")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print {undone, dose} as JSON.") var json = false

        func run() throws {
            let answering = try Answering(global: global)
            let result: UndoResult
            if let client = answering.daemon {
                result = try answering.call(client, .undo, RPCParams.Undo(channel: Origin.Channel.cli.rawValue)).decode(as: UndoResult.self)
            } else {
                let record = try answering.offline("undo") { machine, store, now in
                    let last = try store.lastAnswer(uid: getuid(), since: now - ReminderMachine.undoWindow)
                    let stored = last.flatMap { try? store.record($0.answer.dose.id, ifForgottenBy: machine) }
                    return machine.undo(last, stored: stored, now: now, by: Answering.origin)
                }
                result = UndoResult(record, config: answering.config, now: currentInstant())
            }
            if json {
                output(try dosectl.json(result))
            } else if result.undone == "withdrawn" {
                output("withdrawn: \(result.dose.medication_name) taken \(result.dose.due_local)  [\(result.dose.id)]")
            } else {
                output("reopened: " + describe(result.dose))
            }
        }
    }
}
