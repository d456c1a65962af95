import DoseCore

/// Draws `adherence --calendar`: a row per medication, a cell per day, a legend, each row's rate.
struct CalendarChart {
    let reports: Reports
    let since: Micros
    let until: Micros
    let medications: [String]
    let tallies: [String: Tally]

    static let symbols: [DayChart.Cell: (glyph: String, color: String, label: String)] = [
        .onTime: ("●", "\u{1B}[32m", "taken on time"), .late: ("◐", "\u{1B}[33m", "taken late"),
        .skipped: ("○", "\u{1B}[35m", "skipped"), .missed: ("✗", "\u{1B}[31m", "missed"),
        .held: ("H", "\u{1B}[34m", "held by the care team"),
        .open: ("·", "\u{1B}[36m", "due, not answered yet"), .nothingDue: (" ", "", "nothing due"),
    ]

    func render(color: Bool) throws -> String {
        let zone = reports.config.zone
        let days = DayChart.days(since: since, until: until, zone: zone)
        let records = try reports.history(since: since, until: until, medication: nil).compactMap { row -> DoseRecord? in
            if case .dose(let record) = row { record } else { nil }
        }
        let cells = DayChart.cells(records, medications: medications, days: days, zone: zone, now: reports.now)
        let width = max(12, medications.map(\.count).max() ?? 0) + 2
        var lines: [String] = []
        // The period's first and last day over the cells, then each day's weekday initial.
        if let first = days.first, let last = days.last {
            let from = RFC3339.civil(first), to = RFC3339.civil(last)
            let gap = max(1, days.count - from.count - to.count)
            lines.append(String(repeating: " ", count: width) + from + String(repeating: " ", count: gap) + to)
        }
        lines.append(String(repeating: " ", count: width) + days.map { day in
            ["M", "T", "W", "T", "F", "S", "S"][Civil.weekday(days: Civil.days(year: day.year, month: day.month, day: day.day))]
        }.joined())
        for medication in medications {
            var line = medication.padding(toLength: width, withPad: " ", startingAt: 0)
            for cell in cells[medication] ?? [] {
                let symbol = Self.symbols[cell]!
                line += color && !symbol.color.isEmpty ? symbol.color + symbol.glyph + "\u{1B}[0m" : symbol.glyph
            }
            line += "  " + Dosectl.Adherence.percent((tallies[medication] ?? Tally()).adherence)
            lines.append(line)
        }
        let legend = DayChart.Cell.allCases.reversed().map { cell -> String in
            let symbol = Self.symbols[cell]!
            let glyph = color && !symbol.color.isEmpty ? symbol.color + symbol.glyph + "\u{1B}[0m" : symbol.glyph
            return cell == .nothingDue ? "blank \(symbol.label)" : "\(glyph) \(symbol.label)"
        }
        lines.append("")
        lines.append(legend.joined(separator: "   "))
        return lines.joined(separator: "\n")
    }

}
