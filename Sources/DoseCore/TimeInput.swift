/// Times as the command line takes them (SPEC 8): RFC 3339, `YYYY-MM-DD HH:MM[:SS]`,
/// `YYYY-MM-DD` (read in `zone`) and `now`; durations such as `30d` mean that long before `now`
/// where `allowsDuration` is set (`--since`).
///
/// A time given is within the years a due time may have (1970 to 2199, as in the configuration),
/// so every instant a person or a client names formats and compares like a due time.
public enum TimeInput {
    /// The instants a time given may name: 1970-01-01T00:00:00Z up to the end of 2199 (UTC).
    public static let range: ClosedRange<Micros> =
        0...(WallTime(year: CalendarExpression.maxYear + 1, month: 1, day: 1).local - 1)

    /// The instant, or nil when `text` is none of the forms or names a time outside ``range``.
    public static func parse(_ text: String, zone: ZoneRules, now: Micros, allowsDuration: Bool = false) -> Micros? {
        guard let instant = anyInstant(text, zone: zone, now: now, allowsDuration: allowsDuration),
              range.contains(instant) else { return nil }
        return instant
    }

    private static func anyInstant(_ text: String, zone: ZoneRules, now: Micros, allowsDuration: Bool) -> Micros? {
        if text == "now" { return now }
        if let instant = RFC3339.parse(text) { return instant }
        var scanner = DateScanner(text)
        if let wall = scanner.wallTime(requireTime: false), scanner.atEnd {
            return zone.resolve(wall.local).instant
        }
        if allowsDuration, case .success(let span) = DurationText.parse(text) { return now - span }
        return nil
    }

    /// What the parser accepts, for error messages.
    public static func expected(allowsDuration: Bool = false) -> String {
        "RFC 3339 (2026-11-30T20:00:00Z), 'YYYY-MM-DD HH:MM[:SS]', 'YYYY-MM-DD' or 'now'"
            + (allowsDuration ? ", or a duration before now such as 30d" : "")
            + ", from 1970 to \(CalendarExpression.maxYear)"
    }

    /// A command-line time as a TOML date or date-time literal (`2026-12-01`,
    /// `2026-12-01T08:00:00`, or with its offset when it has one), or nil.
    public static func tomlLiteral(_ text: String) -> String? {
        var scanner = DateScanner(text)
        if let wall = scanner.wallTime(requireTime: false) {
            if scanner.atEnd {
                return text.count == 10 ? RFC3339.civil(wall) : RFC3339.civil(wall) + "T" + RFC3339.clock(wall)
            }
            if let offset = scanner.offset(), scanner.atEnd {
                return RFC3339.civil(wall) + "T" + RFC3339.clock(wall) + (offset == 0 ? "Z" : RFC3339.offset(offset))
            }
        }
        return nil
    }
}
