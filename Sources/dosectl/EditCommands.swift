import ArgumentParser
import DoseCore
import DoseFiles
import DoseProtocol
import Foundation

/// Runs a validated, atomic, locked edit of one medication file and tells a running daemon.
func editMedication(_ global: GlobalOptions, _ medication: String, dryRun: Bool, command: String,
                    _ change: (inout TOMLDocument?) throws -> Void) throws {
    let editor = ConfigEditor(directory: global.paths.config)
    let outcome: ConfigEditor.Outcome
    do {
        outcome = try editor.edit(medication: medication, dryRun: dryRun, change)
    } catch let error as ConfigEditor.EditError {
        throw Failure(message: error.description)
    }
    if dryRun {
        output(outcome.text ?? "# \(outcome.path) would be removed")
        return
    }
    output(outcome.text == nil ? "removed \(outcome.path)" : "wrote \(outcome.path)")
    // A running daemon reloads now (it also notices the change by itself); none running is fine.
    if let client = (try? global.paths.socket()).flatMap(DaemonClient.init(path:)) {
        do {
            _ = try client.call(.reload)
        } catch let failure as DaemonClient.Failure {
            errorOutput("dosectl \(command): dosed refused to reload: \(failure.message)")
        }
    }
}

/// `--dry-run`, on every edit.
struct EditFlags: ParsableArguments {
    @Flag(name: .customLong("dry-run"), help: "Print the file that would be written (or removed); change nothing.")
    var dryRun = false
}

/// `MED/SCHED` of `schedule add/edit/remove`: a medication's schedule, both valid ids (SPEC 3).
struct ScheduleTarget {
    let medication: String
    let schedule: String

    init(_ text: String) throws {
        let filter = ScheduleFilter(parsing: text)
        guard let medication = filter.medication, let schedule = filter.schedule,
              ConfigDecoder.isValidID(medication), ConfigDecoder.isValidID(schedule)
        else { throw ValidationError("'\(text)' is not MED/SCHED") }
        self.medication = medication
        self.schedule = schedule
    }
}

/// `MED` or `MED/SCHED` of `pause` and `resume`: a medication, or one of its schedules.
struct MedicationTarget {
    let medication: String
    /// Nil for every schedule of the medication.
    let schedule: String?

    init(_ text: String) throws {
        let filter = ScheduleFilter(parsing: text)
        guard let medication = filter.medication, ConfigDecoder.isValidID(medication),
              filter.schedule.map(ConfigDecoder.isValidID) ?? true
        else { throw ValidationError("'\(text)' is not MED or MED/SCHED") }
        self.medication = medication
        schedule = filter.schedule
    }
}

func checkDuration(_ text: String?, _ flag: String) throws {
    if let text, case .failure(let error) = DurationText.parse(text) { throw ValidationError("\(flag): \(error)") }
}

func tomlTime(_ text: String?, _ flag: String) throws -> TOMLDocument.Value? {
    guard let text else { return nil }
    guard let literal = TimeInput.tomlLiteral(text) else {
        throw ValidationError("\(flag) '\(text)' is not a date or date-time (2026-12-01, '2026-12-01 08:00', RFC 3339)")
    }
    return .literal(literal)
}

extension Dosectl {
    /// `dosectl med add | edit | remove`.
    struct Med: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "med",
            _superCommandName: Dosectl.name,
            abstract: "Add, change or remove a medication (its file in medications/).",
            subcommands: [Add.self, Edit.self, Remove.self])

        struct Fields: ParsableArguments {
            @Option(help: "The name shown in reminders.") var name: String?
            @Option(help: "The dose, e.g. \"3 million units\".") var dose: String?
            @Option(help: "The route, e.g. subcutaneous.") var route: String?
            @Option(name: .customLong("site"), help: "An injection site (repeat for each, in rotation order).") var sites: [String] = []
            @Option(help: "Doses on hand (the starting value of the stock).") var stock: Int?
            @Option(name: .customLong("refill-at"), help: "Low-stock alert at or below this.") var refillAt: Int?

            func validate() throws {
                if let stock, stock < 0 { throw ValidationError("--stock must be zero or more") }
                if let refillAt, refillAt < 0 { throw ValidationError("--refill-at must be zero or more") }
            }

            func apply(to document: inout TOMLDocument) {
                if let name { document["name"] = .string(name) }
                if let dose { document["dose"] = .string(dose) }
                if let route { document["route"] = .string(route) }
                if !sites.isEmpty { document["sites"] = .array(sites.map { .string($0) }) }
                if let stock { document["stock"] = .literal(String(stock)) }
                if let refillAt { document["refill_at"] = .literal(String(refillAt)) }
            }
        }

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a medication.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var edit: EditFlags
            @Argument(help: "The medication id ([a-z0-9][a-z0-9_-]*), its file name.") var id: String
            @OptionGroup var fields: Fields

            func validate() throws {
                try requireMedicationID(id)
                guard fields.name != nil else { throw ValidationError("--name is required") }
            }

            func run() throws {
                try editMedication(global, id, dryRun: edit.dryRun, command: "med add") { document in
                    guard document == nil else { throw Failure(message: "dosectl med add: \(id) exists already (use med edit)") }
                    var new = TOMLDocument()
                    fields.apply(to: &new)
                    document = new
                }
            }
        }

        struct Edit: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "edit", abstract: "Change a medication's name, dose, route, sites or stock.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var edit: EditFlags
            @Argument(help: "The medication id.") var id: String
            @OptionGroup var fields: Fields

            func validate() throws { try requireMedicationID(id) }

            func run() throws {
                try editMedication(global, id, dryRun: edit.dryRun, command: "med edit") { document in
                    guard document != nil else { throw Failure(message: "dosectl med edit: no medication '\(id)'") }
                    fields.apply(to: &document!)
                }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a medication (its history is kept).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var edit: EditFlags
            @Argument(help: "The medication id.") var id: String

            func validate() throws { try requireMedicationID(id) }

            func run() throws {
                try editMedication(global, id, dryRun: edit.dryRun, command: "med remove") { document in
                    guard document != nil else { throw Failure(message: "dosectl med remove: no medication '\(id)'") }
                    document = nil
                }
            }
        }
    }

    /// `dosectl schedule add | edit | remove`.
    struct ScheduleCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schedule",
            _superCommandName: Dosectl.name, abstract: "Add, change or remove a schedule of a medication.",
            subcommands: [Add.self, Edit.self, Remove.self])

        struct Fields: ParsableArguments {
            @Option(help: "A calendar expression (repeat for several).") var on: [String] = []
            @Option(help: "An interval, e.g. 8h (with --first).") var every: String?
            @Option(help: "The first dose of an --every schedule.") var first: String?
            @Option(help: "Stop after this many doses.") var count: Int?
            @Option(help: "First day (or date-time) of the schedule.") var start: String?
            @Option(help: "Last day (or date-time), inclusive.") var end: String?
            @Option(help: "A pre-reminder lead time (repeat for several).") var before: [String] = []
            @Option(help: "On time within this after due.") var window: String?
            @Option(help: "Re-remind every (\"0\" = never).") var `repeat`: String?
            @Option(help: "Warnings from due + this.") var escalate: String?
            @Option(help: "An IANA zone for this schedule.") var timezone: String?
            @Option(help: "This schedule's dose, overriding the medication's (e.g. an induction dose).") var dose: String?
            @Option(help: "This schedule's route, overriding the medication's.") var route: String?

            func validate() throws {
                if !on.isEmpty && (every != nil || first != nil) { throw ValidationError("give --on, or --every with --first, not both") }
                if let count, count < 1 { throw ValidationError("--count must be at least 1") }
                try checkDuration(every, "--every")
                try checkDuration(window, "--window")
                try checkDuration(self.repeat, "--repeat")
                try checkDuration(escalate, "--escalate")
                for lead in before { try checkDuration(lead, "--before") }
                _ = try tomlTime(first, "--first")
                _ = try tomlTime(start, "--start")
                _ = try tomlTime(end, "--end")
            }

            func apply(to table: inout TOMLDocument) throws {
                if !on.isEmpty {
                    table["on"] = on.count == 1 ? .string(on[0]) : .array(on.map { .string($0) })
                    table["every"] = nil
                    table["first"] = nil
                }
                if let every {
                    table["every"] = .string(every)
                    table["on"] = nil
                }
                if let first = try tomlTime(first, "--first") { table["first"] = first }
                if let count { table["count"] = .literal(String(count)) }
                if let start = try tomlTime(start, "--start") { table["start"] = start }
                if let end = try tomlTime(end, "--end") { table["end"] = end }
                if !before.isEmpty { table["before"] = .array(before.map { .string($0) }) }
                if let window { table["window"] = .string(window) }
                if let value = self.repeat { table["repeat"] = .string(value) }
                if let escalate { table["escalate"] = .string(escalate) }
                if let timezone { table["timezone"] = .string(timezone) }
                if let dose { table["dose"] = .string(dose) }
                if let route { table["route"] = .string(route) }
            }
        }

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a schedule.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var edit: EditFlags
            @Argument(help: "MED/SCHED.") var target: String
            @OptionGroup var fields: Fields

            func validate() throws {
                _ = try ScheduleTarget(target)
                guard !fields.on.isEmpty || fields.every != nil else { throw ValidationError("give --on EXPR or --every DUR --first TIME") }
            }

            func run() throws {
                let named = try ScheduleTarget(target)
                let (medication, schedule) = (named.medication, named.schedule)
                try editMedication(global, medication, dryRun: edit.dryRun, command: "schedule add") { document in
                    guard var doc = document else { throw Failure(message: "dosectl schedule add: no medication '\(medication)' (add it with med add)") }
                    var schedules = doc.schedules
                    guard !schedules.contains(where: { $0["id"] == .string(schedule) }) else {
                        throw Failure(message: "dosectl schedule add: \(target) exists already (use schedule edit)")
                    }
                    var table = TOMLDocument()
                    table["id"] = .string(schedule)
                    try fields.apply(to: &table)
                    schedules.append(table)
                    doc.schedules = schedules
                    document = doc
                }
            }
        }

        struct Edit: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "edit", abstract: "Change a schedule: the given settings replace the old ones.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var edit: EditFlags
            @Argument(help: "MED/SCHED.") var target: String
            @OptionGroup var fields: Fields

            func validate() throws { _ = try ScheduleTarget(target) }

            func run() throws {
                let named = try ScheduleTarget(target)
                let (medication, schedule) = (named.medication, named.schedule)
                try editMedication(global, medication, dryRun: edit.dryRun, command: "schedule edit") { document in
                    try document.editSchedules(medication, only: schedule, command: "schedule edit") { try fields.apply(to: &$0) }
                }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a schedule (its history is kept).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var edit: EditFlags
            @Argument(help: "MED/SCHED.") var target: String

            func validate() throws { _ = try ScheduleTarget(target) }

            func run() throws {
                let named = try ScheduleTarget(target)
                let (medication, schedule) = (named.medication, named.schedule)
                try editMedication(global, medication, dryRun: edit.dryRun, command: "schedule remove") { document in
                    guard var doc = document else { throw Failure(message: "dosectl schedule remove: no medication '\(medication)'") }
                    let schedules = doc.schedules
                    guard schedules.contains(where: { $0["id"] == .string(schedule) }) else {
                        throw Failure(message: "dosectl schedule remove: no schedule '\(target)'")
                    }
                    doc.schedules = schedules.filter { $0["id"] != .string(schedule) }
                    document = doc
                }
            }
        }
    }

    /// `dosectl pause`.
    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pause", _superCommandName: Dosectl.name, abstract: "Pause a medication's schedules (or one), until a date or until resumed.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var edit: EditFlags
        @Argument(help: "MED or MED/SCHED.") var target: String
        @Option(help: "Doses are due again from this day on.") var until: String?

        func validate() throws {
            _ = try MedicationTarget(target)
            _ = try tomlTime(until, "--until")
        }

        func run() throws {
            let named = try MedicationTarget(target)
            let (medication, schedule) = (named.medication, named.schedule)
            let until = try tomlTime(until, "--until")
            try editMedication(global, medication, dryRun: edit.dryRun, command: "pause") { document in
                try document.editSchedules(medication, only: schedule, command: "pause") { table in
                    if let until {
                        table["paused_until"] = until
                        table["paused"] = nil
                    } else {
                        table["paused"] = .literal("true")
                        table["paused_until"] = nil
                    }
                }
            }
        }
    }

    /// `dosectl resume`.
    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "resume", _superCommandName: Dosectl.name, abstract: "Resume paused schedules.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var edit: EditFlags
        @Argument(help: "MED or MED/SCHED.") var target: String

        func validate() throws { _ = try MedicationTarget(target) }

        func run() throws {
            let named = try MedicationTarget(target)
            let (medication, schedule) = (named.medication, named.schedule)
            try editMedication(global, medication, dryRun: edit.dryRun, command: "resume") { document in
                try document.editSchedules(medication, only: schedule, command: "resume") { table in
                    table["paused"] = nil
                    table["paused_until"] = nil
                }
            }
        }
    }
}

extension TOMLDocument {
    /// The `[[schedule]]` tables.
    var schedules: [TOMLDocument] {
        get {
            guard case .array(let items)? = self["schedule"] else { return [] }
            return items.compactMap { if case .table(let table) = $0 { table } else { nil } }
        }
        set { self["schedule"] = newValue.isEmpty ? nil : .array(newValue.map { .table($0) }) }
    }
}

extension Optional where Wrapped == TOMLDocument {
    /// Changes every schedule (or the one named) of the medication file.
    mutating func editSchedules(_ medication: String, only schedule: String?, command: String,
                                _ change: (inout TOMLDocument) throws -> Void) throws {
        guard var document = self else { throw Failure(message: "dosectl \(command): no medication '\(medication)'") }
        var schedules = document.schedules
        var found = false
        for index in schedules.indices where schedule.map({ schedules[index]["id"] == .string($0) }) ?? true {
            try change(&schedules[index])
            found = true
        }
        guard found else {
            throw Failure(message: "dosectl \(command): " + (schedule.map { "no schedule '\(medication)/\($0)'" } ?? "\(medication) has no schedule"))
        }
        document.schedules = schedules
        self = document
    }
}
