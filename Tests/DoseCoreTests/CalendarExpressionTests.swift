import DoseCore
import DoseFiles
import Foundation
import Testing

/// This machine's tz database as the daemon reads it (systemd's: files under TZDIR), for the
/// expressions that name a zone and the tests that compare with `systemd-analyze`.
let machineZones = ConfigDirectory.zones()

/// Instants from RFC 3339 text, for readable tables.
func at(_ text: String) -> Micros { RFC3339.parse(text)! }

/// The first `count` instants after `base` of `expression` in `zone`.
func elapses(_ expression: String, zone: String, after base: String, count: Int) throws -> [String] {
    let parsed = try CalendarExpression(parsing: expression, zones: machineZones)
    let rules = try #require(ZoneRules.named(parsed.zoneIdentifier ?? zone))
    var result: [String] = []
    var cursor = at(base)
    while result.count < count, let next = parsed.next(after: cursor, in: rules) {
        result.append(RFC3339.utc(next))
        cursor = next
    }
    return result
}

@Suite("Calendar expressions: when doses are due (SPEC 4)")
struct CalendarExpressionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var expression: String
        var zone: String
        var after: String
        var expected: [String]
        var testDescription: String { "\(expression) in \(zone) after \(after)" }
    }

    static let cases: [Case] = [
        // SPEC 4's own example: 02:30 on a New York spring-forward night fires at 07:30 UTC (03:30 EDT).
        Case(expression: "*-*-* 02:30", zone: "America/New_York", after: "2026-03-07T12:00:00Z",
             expected: ["2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"]),
        // Clocks go back: 01:30 happens twice and is due once, at the first (EDT).
        Case(expression: "*-*-* 01:30", zone: "America/New_York", after: "2026-10-31T12:00:00Z",
             expected: ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]),
        // Every 20 minutes through the New York gap: gap times at EST, deduplicated with real ones.
        Case(expression: "*:0/20", zone: "America/New_York", after: "2026-03-08T06:10:00Z",
             expected: ["2026-03-08T06:20:00Z", "2026-03-08T06:40:00Z", "2026-03-08T07:00:00Z",
                        "2026-03-08T07:20:00Z", "2026-03-08T07:40:00Z", "2026-03-08T08:00:00Z"]),
        // London spring forward (01:00 → 02:00 on 2026-03-29): 01:30 fires at 01:30 GMT.
        Case(expression: "*-*-* 01:30", zone: "Europe/London", after: "2026-03-28T12:00:00Z",
             expected: ["2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"]),
        // London falls back (02:00 BST → 01:00 GMT on 2026-10-25): 01:30 once, at BST.
        Case(expression: "*-*-* 01:30", zone: "Europe/London", after: "2026-10-24T12:00:00Z",
             expected: ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]),
        // Lord Howe's 30-minute DST (02:00 → 02:30 on 2026-10-04): 02:15 at +10:30, before 02:35 (+11).
        Case(expression: "*-*-* 02:15,35", zone: "Australia/Lord_Howe", after: "2026-10-03T12:00:00Z",
             expected: ["2026-10-03T15:35:00Z", "2026-10-03T15:45:00Z", "2026-10-04T15:15:00Z"]),
        // Lord Howe falls back 30 minutes (02:00 → 01:30 on 2026-04-05): 01:45 once, at +11.
        Case(expression: "*-*-* 01:45", zone: "Australia/Lord_Howe", after: "2026-04-04T00:00:00Z",
             expected: ["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]),
        // Chatham (02:45 → 03:45 on 2026-09-27): 03:00 is a gap time (at +12:45), 03:50 exists (+13:45).
        Case(expression: "*-*-* 03:00,50", zone: "Pacific/Chatham", after: "2026-09-26T00:00:00Z",
             expected: ["2026-09-26T14:05:00Z", "2026-09-26T14:15:00Z", "2026-09-27T13:15:00Z"]),
        // Leap days: only in leap years.
        Case(expression: "*-02-29 09:00", zone: "UTC", after: "2026-01-01T00:00:00Z",
             expected: ["2028-02-29T09:00:00Z", "2032-02-29T09:00:00Z"]),
        // `~`: the last day of each month, February's included.
        Case(expression: "*-*~01 18:00", zone: "UTC", after: "2027-01-15T00:00:00Z",
             expected: ["2027-01-31T18:00:00Z", "2027-02-28T18:00:00Z", "2027-03-31T18:00:00Z", "2027-04-30T18:00:00Z"]),
        // `~07/2`: from the 7th-last day, every other day.
        Case(expression: "*-02~07/2 06:00", zone: "UTC", after: "2028-01-01T00:00:00Z",
             expected: ["2028-02-23T06:00:00Z", "2028-02-25T06:00:00Z", "2028-02-27T06:00:00Z", "2028-02-29T06:00:00Z"]),
        // Weekday with a day range: the first Sunday of each month.
        Case(expression: "Sun *-*-1..7 10:00", zone: "UTC", after: "2026-11-28T00:00:00Z",
             expected: ["2026-12-06T10:00:00Z", "2027-01-03T10:00:00Z"]),
        // Mon,Wed,Fri 20:00 in London across the end of BST.
        Case(expression: "Mon,Wed,Fri 20:00", zone: "Europe/London", after: "2026-10-22T00:00:00Z",
             expected: ["2026-10-23T19:00:00Z", "2026-10-26T20:00:00Z", "2026-10-28T20:00:00Z"]),
        // A zone in the expression beats the schedule's.
        Case(expression: "*-*-* 08:00 Asia/Tokyo", zone: "Europe/London", after: "2026-11-28T00:00:00Z",
             expected: ["2026-11-28T23:00:00Z"]),
        // Fractional seconds survive into the instant and the id.
        Case(expression: "*-*-* 12:00:07.25", zone: "UTC", after: "2026-11-28T00:00:00Z",
             expected: ["2026-11-28T12:00:07.25Z"]),
        // Shorthands.
        Case(expression: "weekly", zone: "UTC", after: "2026-11-28T00:00:00Z", expected: ["2026-11-30T00:00:00Z"]),
        Case(expression: "quarterly", zone: "UTC", after: "2026-11-28T00:00:00Z", expected: ["2027-01-01T00:00:00Z", "2027-04-01T00:00:00Z"]),
        // Two-digit years are 20xx; a year range ends.
        Case(expression: "26..27-12-25 07:00", zone: "UTC", after: "2026-01-01T00:00:00Z",
             expected: ["2026-12-25T07:00:00Z", "2027-12-25T07:00:00Z"]),
        // `@EPOCH` is one instant in UTC.
        Case(expression: "@1800000000", zone: "Europe/London", after: "2026-01-01T00:00:00Z", expected: ["2027-01-15T08:00:00Z"]),
    ]

    @Test("due instants", arguments: cases)
    func dueInstants(_ c: Case) throws {
        #expect(try elapses(c.expression, zone: c.zone, after: c.after, count: c.expected.count) == c.expected)
    }

    @Test("strictly after the base, like --base-time")
    func strictlyAfter() throws {
        #expect(try elapses("*-*-* 20:00", zone: "UTC", after: "2026-11-30T20:00:00Z", count: 1) == ["2026-12-01T20:00:00Z"])
    }

    @Test("an expression that never elapses after its last match gives none")
    func pastOnly() throws {
        #expect(try elapses("2026-01-01 00:00", zone: "UTC", after: "2026-06-01T00:00:00Z", count: 1) == [])
    }

    static let invalid: [(String, String)] = [
        ("*-02-30", "never elapses"),
        ("Mon 2026-11-27", "never elapses"),
        ("", "empty"),
        (" daily", "leading blank"),
        ("*:*/5", "0/N"),
        ("25:00", "hour out of range"),
        ("*-13-01", "month out of range"),
        ("*:50/20", "never repeats"),
        ("5..3:00", "runs backwards"),
        ("Fri..Mon", "runs backwards"),
        ("Mond", "unknown weekday"),
        ("*-*~29", "day out of range"),
        ("1969-12-31", "year out of range"),
        ("12:00 Mars/Olympus", "not a time zone"),
        ("*-*-* 1:2:3.", "digits after the decimal point"),
        ("1-1-1-1", "unexpected"),
        ("*", "expected ':'"),
    ]

    @Test("refused expressions say why", arguments: invalid)
    func refused(_ text: String, _ reason: String) {
        #expect {
            _ = try CalendarExpression(parsing: text, zones: machineZones)
        } throws: { error in
            (error as? CalendarSyntaxError)?.message.contains(reason) == true
        }
    }
}

@Suite("Zone rules")
struct ZoneRulesTests {
    @Test("offsets agree with Foundation's TimeZone, hour by hour through 2026")
    func offsets() throws {
        for name in ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "Pacific/Apia"] {
            let rules = try #require(ZoneRules.named(name))
            let zone = try #require(TimeZone(identifier: name))
            var t = at("2026-01-01T00:00:00Z")
            while t < at("2027-01-01T00:00:00Z") {
                #expect(rules.offset(at: t) == zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t) / 1e6)), "\(name) at \(RFC3339.utc(t))")
                t += 3_600_000_000
            }
        }
    }

    @Test("Samoa's skipped day (2011-12-30) resolves at the offset before the gap")
    func apia() throws {
        let rules = try #require(ZoneRules.named("Pacific/Apia"))
        let resolution = rules.resolve(WallTime(year: 2011, month: 12, day: 30, hour: 12).local)
        #expect(resolution.occurrence == .gap)
        #expect(RFC3339.utc(resolution.instant) == "2011-12-30T22:00:00Z")
    }

    @Test("unknown zones are nil; the database decides which names exist")
    func unknown() {
        #expect(ZoneRules.named("Mars/Olympus") == nil)
        #expect(ZoneRules.named("Europe/London") != nil)
        // Given a database that holds only London
        let london = ZoneDatabase(system: .utc) { $0 == "Europe/London" }
        // Then only London parses as an expression's zone
        #expect(throws: CalendarSyntaxError.self) { try CalendarExpression(parsing: "12:00 Asia/Tokyo", zones: london) }
        #expect((try? CalendarExpression(parsing: "12:00 Europe/London", zones: london))?.zoneIdentifier == "Europe/London")
        // And a configuration may name only London
        let main = SourceFile(path: "dosed.toml", text: "timezone = \"Asia/Tokyo\"\n")
        #expect(ConfigDecoder.load(main: main, medications: [], zones: london).errors.map(\.description)
                == ["dosed.toml:1:12: unknown time zone 'Asia/Tokyo' (use an IANA name such as Europe/London)"])
    }
}
