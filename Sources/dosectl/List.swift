import ArgumentParser
import DoseCore
import DoseProtocol

extension Dosectl {
    /// `dosectl list`: medications and schedules, each with its next dose.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", _superCommandName: Dosectl.name, abstract: "List medications and schedules, each with its next dose.")

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print JSON (SPEC 8) and nothing else.")
        var json = false

        /// One medication of `list --json`.
        struct Entry: Encodable {
            var id: String
            var name: String
            var dose: String?
            var route: String?
            var sites: [String]
            var stock: Int?
            /// RFC 3339 UTC, or nil.
            var runs_out: String?
            /// Whether it may be taken now, for a medication taken as needed.
            var as_needed: AsNeededStatus?
            var schedules: [ScheduleEntry]

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(id, forKey: .id)
                try c.encode(name, forKey: .name)
                try c.encode(dose, forKey: .dose)
                try c.encode(route, forKey: .route)
                try c.encode(sites, forKey: .sites)
                try c.encode(stock, forKey: .stock)
                try c.encode(runs_out, forKey: .runs_out)
                try c.encode(as_needed, forKey: .as_needed)
                try c.encode(schedules, forKey: .schedules)
            }
            enum CodingKeys: String, CodingKey { case id, name, dose, route, sites, stock, runs_out, as_needed, schedules }
        }

        /// One schedule of `list --json`: `on` (as written: a string or an array) or `every`.
        struct ScheduleEntry: Encodable {
            var id: String
            var text: ScheduleText
            var paused: Bool
            /// This schedule's doses' dose and route: its own, else the medication's (SPEC 10).
            var dose: String?
            var route: String?
            var next: DoseMessage?

            enum CodingKeys: String, CodingKey { case id, on, every, paused, dose, route, next }

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(id, forKey: .id)
                switch text {
                case .on(let expressions, let array):
                    if array { try c.encode(expressions, forKey: .on) } else { try c.encode(expressions[0], forKey: .on) }
                case .every(let duration):
                    try c.encode(duration, forKey: .every)
                }
                try c.encode(paused, forKey: .paused)
                try c.encode(dose, forKey: .dose)
                try c.encode(route, forKey: .route)
                try c.encode(next, forKey: .next)
            }
        }

        /// `list --json`'s array (also `export`'s `medications`).
        /// - Parameters:
        ///   - stock: the history's stock of each medication (SPEC 8: `stock` is the stock on hand).
        ///   - lastTaken: the last takes, for `anchor = "taken"`.
        static func entries(_ config: Configuration, now: Micros, stock: [String: ReminderMachine.Stock],
                            lastTaken: (String, String) -> Micros?, asNeeded: [String: AsNeededStatus] = [:]) -> [Entry] {
            var entries: [Entry] = []
            for medication in config.medications {
                var schedules: [ScheduleEntry] = []
                for schedule in medication.schedules {
                    let next = config.next(of: schedule, medication: medication.id, after: now,
                                           lastTaken: lastTaken(medication.id, schedule.id)).map { [$0] } ?? []
                    schedules.append(ScheduleEntry(
                        id: schedule.id, text: medication.scheduleTexts[schedule.id]!,
                        paused: schedule.paused || schedule.pausedUntil.map { $0.instant(in: config.zone(for: schedule)) > now } == true,
                        dose: medication.dose(for: schedule.id), route: medication.route(for: schedule.id),
                        next: Presentation.messages(next, config: config).first))
                }
                let onHand = ReminderMachine.Stock.onHand(stored: stock[medication.id], configured: medication.stock)
                let runsOut = config.runsOut(medication.id, stock: onHand, after: now, lastTaken: lastTaken)
                entries.append(Entry(id: medication.id, name: medication.name, dose: medication.dose, route: medication.route,
                                     sites: medication.sites, stock: onHand, runs_out: runsOut.map(RFC3339.utc),
                                     as_needed: asNeeded[medication.id], schedules: schedules))
            }
            return entries
        }

        func run() throws {
            let config = try global.loadConfiguration()
            let now = currentInstant()
            let entries = Self.entries(config, now: now, stock: try global.storedStock(), lastTaken: try global.lastTakes(config),
                                       asNeeded: try global.asNeeded(config, now: now))
            if json {
                output(try dosectl.json(entries))
                return
            }
            if entries.isEmpty { output("No medications in \(global.paths.config)/medications.") }
            for (medication, entry) in zip(config.medications, entries) {
                let stock = entry.stock.map { ", \($0) on hand" } ?? ""
                output("\(medication.id)  \(Presentation.what(medication))\(stock)")
                if !medication.sites.isEmpty { output("  sites: \(medication.sites.joined(separator: ", "))") }
                if let asNeeded = entry.as_needed, let rule = medication.asNeeded {
                    let reason = rule.reason.map { " — \($0)" } ?? ""
                    output("  \(Presentation.limits(rule))\(reason): \(Presentation.availability(asNeeded, zone: config.zone))")
                }
                for (schedule, scheduleEntry) in zip(medication.schedules, entry.schedules) {
                    let zone = config.zone(for: schedule)
                    let when = scheduleEntry.next.flatMap { RFC3339.parse($0.due) }.map { Presentation.localTime($0, zone: zone) }
                    let state = scheduleEntry.paused ? " (paused)" : ""
                    // A schedule's own dose and route, where it sets them.
                    let own = [schedule.dose, schedule.route].compactMap { $0 }
                    let what = own.isEmpty ? "" : " (" + own.joined(separator: ", ") + ")"
                    output("  \(schedule.id)\(state)\(what): \(Presentation.timing(medication.scheduleTexts[schedule.id]))  next: \(when ?? "none")")
                }
            }
        }
    }
}
