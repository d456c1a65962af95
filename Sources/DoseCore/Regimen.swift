/// A schedule in words, for people and for the care team's systems (SPEC 11): "Mon, Wed and Fri
/// at 20:00, 30 minutes' notice, within 2 hours".
public enum Regimen {
    static let dayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    /// The whole regimen of `schedule`, with its times read in `zone`.
    public static func words(_ schedule: Schedule, zone: ZoneRules) -> String {
        var parts: [String] = []
        switch schedule.timing {
        case .calendar(let expressions):
            parts.append(expressions.map(words).joined(separator: "; "))
        case .interval(let every, let first):
            let from = schedule.anchor == .taken ? "after the last dose taken" : "from \(point(first))"
            parts.append("every \(span(every)) \(from)")
        }
        switch schedule.cycle {
        case .doses(let count, let off)?: parts.append("courses of \(count) doses with \(span(off)) of rest between them")
        case .periods(let on, let off)?: parts.append("\(span(on)) on, \(span(off)) off")
        case nil: break
        }
        if let count = schedule.count { parts.append("\(count) doses in all") }
        if let start = schedule.start { parts.append("from \(point(start))") }
        if let end = schedule.end { parts.append("until \(point(end))") }
        let leads = schedule.before.sorted(by: >)
        if !leads.isEmpty {
            parts.append(list(leads.map { possessive(span($0)) }) + " notice")
        }
        parts.append("to be taken within \(span(schedule.window))")
        if schedule.paused { parts.append("paused") }
        return parts.joined(separator: ", ")
    }

    /// One calendar expression: "Mon, Wed and Fri at 20:00", "every day at 08:00 and 20:00", or
    /// the expression itself ("on *-*~01 18:00").
    public static func words(_ expression: CalendarExpression) -> String {
        guard let weekly = expression.weekly, !weekly.weekdays.isEmpty, !weekly.times.isEmpty else {
            return "on \(expression.source)"
        }
        let days = weekly.weekdays.count == 7 ? "every day" : list(weekly.weekdays.map { dayNames[$0 - 1] })
        return days + " at " + list(weekly.times.map(clock))
    }

    /// `2026-12-01`, `2026-12-01 08:00`, or an instant in RFC 3339.
    static func point(_ point: TimePoint) -> String {
        switch point {
        case .date(let wall): RFC3339.civil(wall)
        case .local(let wall): RFC3339.civil(wall) + " " + clock(wall.hour * 3600 + wall.minute * 60 + wall.microsecond / 1_000_000)
        case .instant(let instant): RFC3339.utc(instant)
        }
    }

    /// `20:00:00`: FHIR's `time`.
    public static func timeOfDay(_ seconds: Int) -> String {
        let text = clock(seconds)
        return text.count == 5 ? text + ":00" : text
    }

    /// `20:00`, or `20:00:30` with seconds.
    static func clock(_ seconds: Int) -> String {
        let text = RFC3339.pad(seconds / 3600, 2) + ":" + RFC3339.pad(seconds / 60 % 60, 2)
        return seconds % 60 == 0 ? text : text + ":" + RFC3339.pad(seconds % 60, 2)
    }

    /// "1 hour 30 minutes", "24 hours", "3 days", "1 week": whole hours up to two days stay hours.
    public static func span(_ micros: Micros) -> String {
        var rest = micros / Civil.second
        guard rest > 0 else { return "no time" }
        if rest <= 2 * 86_400, rest % 3600 == 0 { return "\(rest / 3600) hour\(rest == 3600 ? "" : "s")" }
        var parts: [String] = []
        for (unit, size) in [("week", 604_800), ("day", 86_400), ("hour", 3600), ("minute", 60), ("second", 1)] as [(String, Micros)]
        where rest >= size {
            let n = rest / size
            parts.append("\(n) \(unit)\(n == 1 ? "" : "s")")
            rest %= size
        }
        return parts.joined(separator: " ")
    }

    /// "30 minutes'", "1 hour's".
    static func possessive(_ text: String) -> String {
        text.hasSuffix("s") ? text + "'" : text + "'s"
    }

    /// "a", "a and b", "a, b and c".
    static func list(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }
}
