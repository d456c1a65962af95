import ArgumentParser
import DoseCore
import DoseFiles

extension Dosectl {
    /// `dosectl check`: validates the configuration.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            _superCommandName: Dosectl.name,
            abstract: "Validate the configuration; print a summary, or every error as FILE:LINE:COLUMN.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let load = ConfigDirectory.load(global.paths.config)
            guard load.isValid else { throw Failure(message: ConfigErrors(load.errors).description) }
            let config = load.configuration
            let now = currentInstant()
            output("\(global.paths.config): OK, \(config.medications.count) medication(s), \(config.scheduleCount) schedule(s), zone \(config.zone)")
            let notify = config.notify
            let desktop = notify.desktop(system: global.paths.flags.system)
            let source = notify.desktop == nil ? " (default in \(global.paths.flags.system ? "system" : "user") mode)" : ""
            output("  desktop notifications: " + (desktop ? "on, Snooze \(notify.snoozeText)" : "off") + source)
            for medication in config.medications {
                output("  \(medication.id): \(Presentation.what(medication))")
                if let rule = medication.asNeeded { output("    \(Presentation.limits(rule))") }
                for schedule in medication.schedules {
                    let zone = config.zone(for: schedule)
                    let next = config.next(of: schedule, medication: medication.id, after: now)
                    let when = next.map { "next " + Presentation.localTime($0.due, zone: zone) } ?? "no dose to come"
                    output("    \(schedule.id): \(Presentation.timing(medication.scheduleTexts[schedule.id])) — \(when)")
                }
            }
        }
    }
}
