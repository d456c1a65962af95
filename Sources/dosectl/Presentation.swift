import DoseCore
import DoseProtocol

/// How dosectl shows doses and schedules to people.
enum Presentation {
    /// `Mon 2026-11-30 20:00 +00:00`, seconds only when set.
    static func localTime(_ instant: Micros, zone: ZoneRules) -> String {
        let offset = zone.offset(at: instant)
        let wall = WallTime(local: instant + Micros(offset) * Civil.second)
        let weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][
            Civil.weekday(days: Civil.days(year: wall.year, month: wall.month, day: wall.day))]
        var clock = RFC3339.clock(WallTime(local: wall.local - wall.local % Civil.second))
        if clock.hasSuffix(":00") { clock.removeLast(3) }
        return "\(weekday) \(RFC3339.civil(wall)) \(clock) \(RFC3339.offset(offset))"
    }

    /// `20:14` (`20:14:30` with seconds), in `zone`.
    static func clock(_ instant: Micros, zone: ZoneRules) -> String {
        RFC3339.shortClock(instant, zone: zone)
    }

    /// `Interferon alfa (Intron A), 3 million units, subcutaneous`.
    static func what(_ medication: Medication) -> String {
        ([medication.name] + [medication.dose, medication.route].compactMap { $0 }).joined(separator: ", ")
    }

    /// The same for a dose of `schedule`: its own dose and route where it sets them (SPEC 10).
    static func what(_ medication: Medication, schedule: String) -> String {
        ([medication.name] + [medication.dose(for: schedule), medication.route(for: schedule)].compactMap { $0 })
            .joined(separator: ", ")
    }

    /// "available now (1 taken in the last 24h)" or "available from Tue 2026-12-01 17:05 +00:00".
    static func availability(_ status: AsNeededStatus, zone: ZoneRules) -> String {
        let count = status.period.map { " (\(status.taken_in_period) taken in the last \($0))" } ?? ""
        guard let from = status.available_from.flatMap(RFC3339.parse) else { return "available now" + count }
        return "available from " + localTime(from, zone: zone) + count
    }

    /// "as needed (at least 4h apart, at most 4 in 24h)".
    static func limits(_ rule: AsNeeded) -> String {
        "as needed (at least \(rule.minIntervalText) apart" + (rule.maxDoses.map { ", at most \($0) in \(rule.perText ?? "")" } ?? "") + ")"
    }

    /// `on Mon,Wed,Fri 20:00` or `every 8h`.
    static func timing(_ text: ScheduleText?) -> String {
        switch text {
        case .on(let expressions, _)?: "on " + expressions.joined(separator: " | ")
        case .every(let duration)?: "every " + duration
        case nil: ""
        }
    }

    /// The listing's doses as SPEC 6 `Dose` messages, sites suggested in rotation.
    static func messages(_ doses: [DueDose], config: Configuration) -> [DoseMessage] {
        let sites = config.suggestedSites(for: doses)
        return zip(doses, sites).map { dose, site in
            let medication = config.medication(dose.medication)!
            return DoseMessage(dose, medication: medication, zone: config.zone(for: medication.schedule(dose.schedule)!),
                               site: site, state: .upcoming)
        }
    }
}
