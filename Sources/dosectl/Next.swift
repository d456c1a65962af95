import ArgumentParser
import DoseCore
import DoseProtocol
import DoseStore
import Foundation

extension Dosectl {
    /// `dosectl next`: the coming doses, from the configuration alone.
    struct Next: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "next",
            _superCommandName: Dosectl.name,
            abstract: "Show the next doses due, from the configuration alone (no daemon needed).")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A medication (MED) or one schedule (MED/SCHED).")
        var target: String?

        @Option(name: [.customShort("n"), .long], parsing: .unconditional,
                help: "How many doses (0 to \(Limits.listing); default 10, or with --until every dose up to it).")
        var count: Int?

        @Option(help: "Only doses due up to this time (inclusive).")
        var until: String?

        @Flag(help: "Print an iCalendar (RFC 5545) file of the doses, with an alarm at each due time and each pre-reminder.")
        var ics = false

        @Option(help: "Start after this time (exclusive), like systemd-analyze's --base-time.")
        var from: String?

        @Flag(help: "Print a JSON array of Dose objects (SPEC 6) and nothing else.")
        var json = false

        func validate() throws {
            if let count, !(0...Limits.listing).contains(count) { throw ValidationError(Limits.message("-n", 0...Limits.listing, count)) }
            if json && ics { throw ValidationError("give at most one of --json and --ics") }
            if let target { _ = try MedicationTarget(target) }
        }

        func run() throws {
            let config = try global.loadConfiguration()
            let now = currentInstant()
            let after = try from.map { try instant($0, option: "--from", command: "next", zone: config.zone, now: now) } ?? now
            var until = Micros.max
            if let text = self.until {
                until = try instant(text, option: "--until", command: "next", zone: config.zone, now: now)
                guard until >= after else {
                    throw Failure(message: "dosectl next: --until is before \(from == nil ? "now" : "--from")", code: ExitStatus.usage)
                }
            }
            // With --until alone, every dose up to it (as many as one listing shows).
            let count = self.count ?? (self.until == nil ? 10 : Limits.listing)
            let filter = target.map(ScheduleFilter.init(parsing:)) ?? .all
            if let medication = filter.medication {
                guard let found = config.medication(medication) else {
                    throw Failure(message: "dosectl next: no medication '\(medication)' in \(global.paths.config)")
                }
                if let schedule = filter.schedule, found.schedule(schedule) == nil {
                    throw Failure(message: "dosectl next: medication '\(medication)' has no schedule '\(schedule)'")
                }
            }
            let doses = config.upcoming(after: after, count: count, until: until, filter: filter, lastTaken: try global.lastTakes(config))
            if json {
                output(try dosectl.json(Presentation.messages(doses, config: config)))
                return
            }
            if ics {
                let events = Presentation.messages(doses, config: config).map { message in
                    let medication = config.medication(message.medication)!
                    return ICalendar.event(message, medication: medication, schedule: medication.schedule(message.schedule)!)
                }
                output(ICalendar.render(events, stamp: now), terminator: "")
                return
            }
            var lines: [String] = []
            lines.reserveCapacity(doses.count)
            for (dose, site) in zip(doses, config.suggestedSites(for: doses)) {
                let medication = config.medication(dose.medication)!
                let zone = config.zone(for: medication.schedule(dose.schedule)!)
                let siteText = site.map { " — site: \($0)" } ?? ""
                lines.append("\(Presentation.localTime(dose.due, zone: zone))  \(dose.medication)/\(dose.schedule)  \(Presentation.what(medication, schedule: dose.schedule))\(siteText)")
            }
            if lines.isEmpty { lines.append("No doses to come.") }
            // Medications taken as needed have no due times: say whether one may be taken now.
            if from == nil, filter.schedule == nil {
                let available = try global.asNeeded(config, now: now)
                for medication in config.medications where filter.medication == nil || filter.medication == medication.id {
                    guard let status = available[medication.id] else { continue }
                    lines.append("as needed  \(medication.id)  \(Presentation.what(medication)) — \(Presentation.availability(status, zone: config.zone))")
                }
            }
            output(lines.joined(separator: "\n"))
        }
    }
}
