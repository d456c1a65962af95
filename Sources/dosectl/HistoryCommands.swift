import ArgumentParser
import DoseCore
import DoseFiles
import DoseProtocol
import DoseStore
import Foundation

extension Dosectl {
    /// `dosectl history`.
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "history", _superCommandName: Dosectl.name, abstract: "Every dose and note in a period (default: the last 30 days).")

        @OptionGroup var global: GlobalOptions
        @Option(help: "From this time or duration ago (default 30d).") var since: String?
        @Option(help: "Until this time (default now).") var until: String?
        @Option(help: "Only this medication.") var medication: String?
        @Flag(help: "A JSON array of rows.") var json = false
        @Flag(help: "CSV with a header row.") var csv = false
        @Flag(help: "Every answer and correction of each dose: when, by whom, through what and why.") var audit = false

        func validate() throws {
            if json && csv { throw ValidationError("give at most one of --json and --csv") }
            if audit && csv { throw ValidationError("--audit goes with the table or --json, not --csv") }
        }

        func run() throws {
            let reports = try Reports(global: global)
            let (start, end) = try Reports.period(since: since ?? "30d", until: until, defaultSince: nil,
                                                  zone: reports.config.zone, now: reports.now, command: "history")
            try reports.check(medication: medication, command: "history")
            let rows = try reports.history(since: start, until: end, medication: medication)
            if json {
                reports.writeJSON(rows, trail: try reports.trail(since: start, until: end, medication: medication), to: output(raw:))
                output("")  // the line's end
            } else if csv {
                output(([Reports.csvHeader] + rows.map(reports.csv)).map(Reports.csvLine).joined(separator: "\n"))
            } else {
                output(table(rows, reports, trail: audit ? try reports.trail(since: start, until: end, medication: medication) : nil))
            }
        }

        func table(_ rows: [Reports.Row], _ reports: Reports, trail: [DueDose: [Change]]?) -> String {
            guard !rows.isEmpty else { return "No doses or notes in this period." }
            var lines: [String] = []
            var shown = Set<DueDose>()
            for row in rows {
                switch row {
                case .dose(let record):
                    let m = DoseMessage(record, config: reports.config, now: reports.now)
                    let zone = reports.config.medication(record.dose.medication)?.schedule(record.dose.schedule)
                        .map(reports.config.zone(for:)) ?? reports.config.zone
                    var line = "\(Presentation.localTime(record.dose.due, zone: zone))  \(m.state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(m.medication)/\(m.schedule)"
                    if let at = record.answeredAt, record.isAnswered {
                        let minutes = (at - record.dose.due) / Civil.minute
                        line += "  \(record.state == .taken ? "taken" : "answered") \(Presentation.localTime(at, zone: zone))"
                        if minutes != 0 { line += " (\(minutes > 0 ? "+" : "")\(minutes) min)" }
                    }
                    if m.late == true && record.state == .taken { line += "  late" }
                    if let site = m.site, record.state == .taken { line += "  site: \(site)" }
                    if let note = m.note { line += "  — \(note)" }
                    if let reason = m.reason { line += "  (\(reason))" }
                    if record.corrected { line += "  [corrected]" }
                    lines.append(line)
                    if let trail {
                        shown.insert(record.dose)
                        lines += (trail[record.dose] ?? []).map { Self.auditLine($0, zone: zone) }
                    }
                case .note(let note):
                    var line = "\(Presentation.localTime(note.at, zone: reports.config.zone))  note     \(note.text)"
                    if let symptom = note.symptom { line += "  [\(symptom)\(note.severity.map { " \($0)/5" } ?? "")]" }
                    if let dose = note.dose { line += "  (\(dose))" }
                    lines.append(line)
                }
            }
            // Takes withdrawn since: no longer doses, still in the trail.
            for (dose, changes) in (trail ?? [:]).sorted(by: { Configuration.precedes($0.key, $1.key) })
            where !shown.contains(dose) && changes.last?.state == .withdrawn {
                guard let first = changes.first else { continue }
                lines.append("\(Presentation.localTime(first.dose.due, zone: reports.config.zone))  withdrawn \(first.dose.medication)/\(first.dose.schedule)")
                lines += changes.map { Self.auditLine($0, zone: reports.config.zone) }
            }
            return lines.joined(separator: "\n")
        }

        /// "    recorded 2026-12-01 20:31 by uid 1000 (cli): corrected to skipped — wrong dose".
        static func auditLine(_ change: Change, zone: ZoneRules) -> String {
            var what = change.isCorrection ? "corrected to \(change.state.rawValue)" : change.state.rawValue
            if let at = change.at { what += " at \(Presentation.localTime(at, zone: zone))" }
            if let site = change.site { what += ", site \(site)" }
            let who = change.origin.map { origin in
                (origin.uid.map { "uid \($0)" } ?? "dosed") + " (\(origin.channel.rawValue))"
            } ?? "an earlier version (not recorded)"
            return "      recorded \(Presentation.localTime(change.recorded, zone: zone)) by \(who): \(what)"
                + (change.reason.map { " — \($0)" } ?? "")
        }
    }

    /// `dosectl adherence`.
    struct Adherence: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "adherence", _superCommandName: Dosectl.name, abstract: "Adherence rates per medication and overall (default: the last 30 days).")

        @OptionGroup var global: GlobalOptions
        @Option(help: "From this time or duration ago (default 30d).") var since: String?
        @Option(help: "Only this medication.") var medication: String?
        @Flag(help: "Print JSON (SPEC 8).") var json = false
        @Flag(help: "A day-by-day chart.") var calendar = false

        func run() throws {
            let reports = try Reports(global: global)
            let (start, end) = try Reports.period(since: since ?? "30d", until: nil, defaultSince: nil,
                                                  zone: reports.config.zone, now: reports.now, command: "adherence")
            try reports.check(medication: medication, command: "adherence")
            let tallies = try reports.adherence(since: start, until: end, medication: medication)
            var names = Set(tallies.keys)
            for m in reports.config.medications where medication == nil || m.id == medication { names.insert(m.id) }
            let ordered = names.sorted()
            let total = ordered.reduce(Tally()) { $0 + (tallies[$1] ?? Tally()) }
            if json {
                var medications: [JSONValue] = []
                for name in ordered {
                    guard case .object(var rates) = Self.rates(tallies[name] ?? Tally()) else { continue }
                    rates["medication"] = .string(name)
                    medications.append(.object(rates))
                }
                output(RPCMessage.line(.object([
                    "since": .string(RFC3339.utc(start)), "until": .string(RFC3339.utc(end)),
                    "total": Self.rates(total), "medications": .array(medications),
                ])))
                return
            }
            if calendar {
                output(try CalendarChart(reports: reports, since: start, until: end, medications: ordered,
                                         tallies: tallies).render(color: Self.useColor))
                return
            }
            output("Adherence \(Presentation.localTime(start, zone: reports.config.zone)) – \(Presentation.localTime(end, zone: reports.config.zone))")
            output("medication        counted  taken  on time  late  skipped  missed  adherence  on time  held")
            for name in ordered { output(Self.line(name, tallies[name] ?? Tally())) }
            output(Self.line("all", total))
        }

        static var useColor: Bool {
            isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        }

        static func percent(_ rate: Double?) -> String {
            rate.map { String(format: "%.0f%%", $0 * 100) } ?? "–"
        }

        static func line(_ name: String, _ t: Tally) -> String {
            func col(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
            return name.padding(toLength: 16, withPad: " ", startingAt: 0) + col("\(t.counted)", 9) + col("\(t.taken)", 7)
                + col("\(t.onTime)", 9) + col("\(t.late)", 6) + col("\(t.skipped)", 9) + col("\(t.missed)", 8)
                + col(percent(t.adherence), 11) + col(percent(t.onTimeRate), 9) + col("\(t.held)", 6)
        }

        /// SPEC 8 `Rates`; the two rates are null when nothing is counted.
        static func rates(_ t: Tally) -> JSONValue {
            .object([
                "counted": .number(Double(t.counted)), "taken": .number(Double(t.taken)), "on_time": .number(Double(t.onTime)),
                "late": .number(Double(t.late)), "skipped": .number(Double(t.skipped)), "missed": .number(Double(t.missed)),
                "held": .number(Double(t.held)),
                "adherence": t.adherence.map(JSONValue.number) ?? .null, "on_time_rate": t.onTimeRate.map(JSONValue.number) ?? .null,
            ])
        }
    }

    /// `dosectl note`.
    struct NoteCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "note", _superCommandName: Dosectl.name, abstract: "Add a diary entry: side effects, how a dose went.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "What to note.") var text: String
        @Option(help: "The dose it is about (a dose id).") var dose: String?
        @Option(help: "A symptom, e.g. fever, nausea, tiredness.") var symptom: String?
        @Option(help: "How bad, 1 (mild) to 5 (severe).") var severity: Int?

        func validate() throws {
            if let severity, !(1...5).contains(severity) { throw ValidationError("--severity must be 1 to 5") }
            if let dose, DoseID.parse(dose) == nil { throw ValidationError("'\(dose)' is not a dose id (MED/SCHED@TIME)") }
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("the note is empty") }
        }

        func run() throws {
            let answering = try Answering(global: global)
            let store = try answering.openStore()
            let note = Note(at: currentInstant(), text: text, dose: dose, symptom: symptom, severity: severity)
            try store.addNote(note)
            output("noted at \(RFC3339.local(note.at, offset: answering.config.zone.offset(at: note.at)))")
        }
    }

    /// `dosectl export`.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "export", _superCommandName: Dosectl.name, abstract: "The whole record for a care team, as CSV or JSON.")

        enum Format: String, ExpressibleByArgument, CaseIterable { case csv, json, fhir }

        @OptionGroup var global: GlobalOptions
        @Option(help: "csv, json or fhir (a FHIR R4 Bundle).") var format: Format
        @Option(help: "From this time or duration ago (default: the beginning).") var since: String?
        @Option(help: "Until this time (default now).") var until: String?

        func run() throws {
            let reports = try Reports(global: global)
            let firstSeen = try reports.store.firstSeen().values.min()
            let beginning = [try reports.store.earliest(), firstSeen].compactMap { $0 }.min() ?? reports.now
            let (start, end) = try Reports.period(since: since, until: until, defaultSince: beginning,
                                                  zone: reports.config.zone, now: reports.now, command: "export")
            let rows = try reports.history(since: start, until: end, medication: nil)
            switch format {
            case .csv:
                output(([Reports.csvHeader] + rows.map(reports.csv)).map(Reports.csvLine).joined(separator: "\n"))
            case .fhir:
                var records: [DoseRecord] = []
                var notes: [Note] = []
                for row in rows {
                    switch row {
                    case .dose(let record): records.append(record)
                    case .note(let note): notes.append(note)
                    }
                }
                output(try dosectl.json(FHIR.Export(config: reports.config, records: records, notes: notes, now: reports.now).bundle))
            case .json:
                let takes = try reports.lastTakes()  // read once, not once per schedule
                var export = JSONObjectText()
                export.add("exported", RFC3339.utc(reports.now))
                export.add("medications", raw: try dosectl.json(List.entries(reports.config, now: reports.now, stock: try reports.store.stock(),
                                                                             lastTaken: { takes[$0 + "/" + $1] })))
                export.add("history", raw: String(decoding: reports.json(rows, trail: try reports.trail(since: start, until: end, medication: nil)),
                                                  as: UTF8.self))
                output(export.text)
            }
        }
    }
}

extension Dosectl {
    /// `dosectl report`: the care-team report (SPEC 11).
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            _superCommandName: Dosectl.name,
            abstract: "The care-team report: one self-contained HTML file with rates, charts, tables and notes (default: the last 90 days).",
            discussion: "Open it in any browser and print it (A4, each medication on its own page). It is health data: --output writes it with mode 0600.")

        @OptionGroup var global: GlobalOptions
        @Option(help: "From this time or duration ago (default 90d).") var since: String?
        @Option(help: "Until this time (default now).") var until: String?
        @Option(help: "Only this medication.") var medication: String?
        @Option(help: "Write the report to FILE (atomically, mode 0600) instead of stdout.") var output: String?

        func run() throws {
            let reports = try Reports(global: global)
            let config = reports.config
            let (start, end) = try Reports.period(since: since ?? "90d", until: until, defaultSince: nil,
                                                  zone: config.zone, now: reports.now, command: "report")
            try reports.check(medication: medication, command: "report")
            let rows = try reports.history(since: start, until: end, medication: medication)
            let tallies = try reports.adherence(since: start, until: end, medication: medication)
            let stored = try reports.store.stock()
            let takes = try reports.lastTakes()
            var stock: [String: (onHand: Int, runsOut: Micros?)] = [:]
            var ids: [String] = []
            for m in config.medications where medication == nil || m.id == medication {
                ids.append(m.id)
                guard let onHand = ReminderMachine.Stock.onHand(stored: stored[m.id], configured: m.stock) else { continue }
                stock[m.id] = (onHand, config.runsOut(m.id, stock: onHand, after: reports.now, lastTaken: { takes[$0 + "/" + $1] }))
            }
            // Medications no longer configured whose doses are in the period.
            for row in rows {
                if case .dose(let record) = row, !ids.contains(record.dose.medication) { ids.append(record.dose.medication) }
            }
            let page = CareReport(config: config, since: start, until: end, now: reports.now, rows: rows, tallies: tallies,
                                  trail: try reports.trail(since: start, until: end, medication: medication), stock: stock,
                                  medications: ids).html()
            guard let output else {
                dosectl.output(page, terminator: "")
                return
            }
            do {
                try AtomicFile.write(page, to: output, mode: 0o600)
            } catch {
                throw Failure(message: "dosectl report: \(error)")
            }
        }
    }
}
