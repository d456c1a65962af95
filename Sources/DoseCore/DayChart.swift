/// The day-by-day adherence chart: one row per medication, one cell per day (`adherence --calendar`).
public enum DayChart {
    /// What a day shows: the worst of its doses (missed, then skipped, late, on time, held).
    public enum Cell: Int, Sendable, Comparable, CaseIterable {
        case nothingDue = 0
        case open
        /// Withheld by the care team: shown, never worse than a dose taken.
        case held
        case onTime
        case late
        case skipped
        case missed

        public static func < (a: Cell, b: Cell) -> Bool { a.rawValue < b.rawValue }
    }

    /// The local days (in `zone`) from the one holding `since` to the one holding `until`.
    public static func days(since: Micros, until: Micros, zone: ZoneRules) -> [WallTime] {
        var day = WallTime(local: zone.wall(at: since))
        let last = WallTime(local: zone.wall(at: until))
        day = WallTime(year: day.year, month: day.month, day: day.day)
        var result: [WallTime] = []
        while (day.year, day.month, day.day) <= (last.year, last.month, last.day), result.count < 10_000 {
            result.append(day)
            day = WallTime(local: day.local + Civil.day)
        }
        return result
    }

    /// Each medication's cells over `days`, from its scheduled dose records at `now`.
    public static func cells(_ records: [DoseRecord], medications: [String], days: [WallTime], zone: ZoneRules,
                             now: Micros) -> [String: [Cell]] {
        var index: [Int: Int] = [:]
        for (i, day) in days.enumerated() { index[Civil.days(year: day.year, month: day.month, day: day.day)] = i }
        var result = Dictionary(uniqueKeysWithValues: medications.map { ($0, [Cell](repeating: .nothingDue, count: days.count)) })
        for record in records where !record.isExtra {
            let local = WallTime(local: zone.wall(at: record.dose.due))
            guard let i = index[Civil.days(year: local.year, month: local.month, day: local.day)],
                  var row = result[record.dose.medication] else { continue }
            let cell: Cell
            switch Tally.outcome(record, now: now) {
            case .onTime?: cell = .onTime
            case .late?: cell = .late
            case .skipped?: cell = .skipped
            case .missed?: cell = .missed
            case .held?: cell = .held
            case .open?, nil: cell = .open
            }
            row[i] = max(row[i], cell)
            result[record.dose.medication] = row
        }
        return result
    }
}
