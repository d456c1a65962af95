import Foundation

/// Why a calendar expression was refused, and where (a character offset into the text).
public struct CalendarSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Offset of the offending character in the expression, counted in characters from 0.
    public var offset: Int
    public var message: String

    public var description: String { message }
}

extension CalendarExpression {
    /// Parses a systemd.time(7) calendar event expression.
    ///
    /// Accepts what `systemd-analyze calendar` accepts (leading and trailing blanks aside), and
    /// refuses expressions that can never elapse, such as `*-02-30`.
    /// - Parameter zones: the zones a trailing zone name may be (systemd's: the tz database's).
    public init(parsing text: String, zones: ZoneDatabase) throws(CalendarSyntaxError) {
        source = text
        var parser = Parser(text, zones: zones)
        try parser.parse(into: &self)
        try validate(length: parser.length)
        if nextWall(atOrAfter: WallTime(year: Self.minYear, month: 1, day: 1).local) == nil {
            throw CalendarSyntaxError(offset: 0, message: "it never elapses: no date matches it")
        }
    }

    private func validate(length: Int) throws(CalendarSyntaxError) {
        let checks: [(Field, String, Int, Int)] = [
            (year, "year", Self.minYear, Self.maxYear), (month, "month", 1, 12),
            (day, "day", 1, endOfMonth ? 28 : 31), (hour, "hour", 0, 23), (minute, "minute", 0, 59),
            (second, "second", 0, 59_999_999),
        ]
        for (field, name, low, high) in checks {
            for c in field.components ?? [] {
                let scale = name == "second" ? 1_000_000 : 1
                func show(_ v: Int) -> String { scale == 1 ? String(v) : Self.formatSeconds(v) }
                // Made only for an error: formatting it for every component was a measurable
                // part of loading a config.
                var range: String { "\(show(low))–\(show(high))" }
                if c.start < low || c.start > high || (c.stop >= 0 && (c.stop < low || c.stop > high)) {
                    throw CalendarSyntaxError(offset: 0, message: "\(name) out of range \(range)")
                }
                if c.step > high - low {
                    throw CalendarSyntaxError(offset: 0, message: "\(name) repetition /\(show(c.step)) is longer than the range \(range)")
                }
                if c.stop >= 0, c.start + c.step > c.stop {
                    throw CalendarSyntaxError(offset: 0, message: "\(name) range \(show(c.start))..\(show(c.stop)) runs backwards")
                }
                if c.stop < 0, c.step > 0 {
                    let tooLong = endOfMonth && name == "day" ? c.start - c.step < low : c.start + c.step > high
                    if tooLong {
                        throw CalendarSyntaxError(offset: 0, message: "\(name) repetition \(show(c.start))/\(show(c.step)) never repeats within \(range)")
                    }
                }
            }
        }
    }

    static func formatSeconds(_ micros: Int) -> String {
        let whole = RFC3339.pad(micros / 1_000_000, 2)
        let fraction = micros % 1_000_000
        return fraction == 0 ? whole : whole + "." + RFC3339.pad(fraction, 6)
    }
}

/// A hand-written recursive-descent parser over the expression's characters.
private struct Parser {
    private let chars: [Character]
    private let zones: ZoneDatabase
    private var index = 0
    /// Characters before the zone suffix.
    private(set) var length: Int

    init(_ text: String, zones: ZoneDatabase) {
        chars = Array(text)
        self.zones = zones
        length = chars.count
    }

    private var current: Character? { index < length ? chars[index] : nil }

    private func error(_ message: String, at offset: Int? = nil) -> CalendarSyntaxError {
        CalendarSyntaxError(offset: offset ?? index, message: message)
    }

    mutating func parse(into expression: inout CalendarExpression) throws(CalendarSyntaxError) {
        guard length > 0 else { throw error("empty calendar expression") }
        // As systemd: no leading blank; trailing blanks only after a date or weekdays (where
        // the time may be left out), never after a time, a shorthand or a zone.
        if Self.isBlank(chars[0]) { throw error("leading blank", at: 0) }
        if let tab = chars.firstIndex(where: { $0 != " " && Self.isBlank($0) }) { throw error("a blank other than a space", at: tab) }
        expression.zoneIdentifier = takeZone()
        // Shorthands are words: nothing else is copied into a string to compare with them.
        if chars[index..<length].allSatisfy(Self.isASCIILetter),
           Self.applyShorthand(String(chars[index..<length]).lowercased(), to: &expression) { return }
        try weekdays(into: &expression)
        if try !date(into: &expression) { try time(into: &expression) }
        if index < length { throw trailingError("unexpected '\(chars[index])'") }
    }

    /// `Character.isWhitespace`, with ASCII answered without a look-up in Unicode's tables.
    private static func isBlank(_ c: Character) -> Bool {
        if let ascii = c.asciiValue { return ascii == 0x20 || (0x09...0x0D).contains(ascii) }
        return c.isWhitespace
    }

    private static func isASCIILetter(_ c: Character) -> Bool {
        guard let ascii = c.asciiValue else { return false }
        return (0x61...0x7A).contains(ascii | 0x20)
    }

    /// The value of an ASCII digit (systemd reads no other digits).
    private static func digit(_ c: Character) -> Int? {
        guard let ascii = c.asciiValue, (0x30...0x39).contains(ascii) else { return nil }
        return Int(ascii - 0x30)
    }

    /// Text left over after the time: a word after a blank is most likely a misspelt zone.
    private func trailingError(_ message: String) -> CalendarSyntaxError {
        guard current == " " else { return error(message) }
        let word = String(chars[(index + 1)..<chars.count]).trimmingCharacters(in: .whitespaces)
        return error("unexpected '\(word)': not a time zone of the tz database (such as Europe/London or UTC)", at: index + 1)
    }

    // MARK: Zone suffix

    private mutating func takeZone() -> String? {
        guard let space = chars[index..<length].lastIndex(where: { $0 == " " }),
              // Every zone name has a letter ("20:00", the usual last word, has none): only then a copy.
              chars[(space + 1)..<length].contains(where: { !$0.isASCII || Self.isASCIILetter($0) })
        else { return nil }
        let word = String(chars[(space + 1)..<length])
        let zone: String
        if word.lowercased() == "utc" {
            zone = "UTC"
        } else if zones.named(word) != nil {
            zone = word
        } else {
            return nil
        }
        // Exactly one blank goes with the zone (as systemd): more is a trailing blank.
        length = space
        return zone
    }

    // MARK: Shorthands

    /// Applies a shorthand (`daily`, `weekly`, …); false when `name` is none.
    private static func applyShorthand(_ name: String, to e: inout CalendarExpression) -> Bool {
        typealias Field = CalendarExpression.Field
        func months(_ list: [Int]) -> Field { Field(components: list.map { .init(start: $0) }) }
        switch name {
        case "minutely": e.second = .value(0); return true
        case "hourly": e.minute = .value(0); e.second = .value(0); return true
        case "daily", "weekly", "monthly", "quarterly", "yearly", "annually", "anually",
            "semiannually", "semi-annually", "biannually", "bi-annually":
            break
        default: return false
        }
        e.hour = .value(0)
        e.minute = .value(0)
        e.second = .value(0)
        switch name {
        case "daily": break
        case "weekly": e.weekdays = 1
        case "monthly": e.day = .value(1)
        case "quarterly": e.day = .value(1); e.month = months([1, 4, 7, 10])
        case "yearly", "annually", "anually": e.day = .value(1); e.month = .value(1)
        default: e.day = .value(1); e.month = months([1, 7])
        }
        return true
    }

    // MARK: Weekdays

    private static let dayNames: [(String, UInt8)] = [
        ("monday", 0), ("mon", 0), ("tuesday", 1), ("tue", 1), ("wednesday", 2), ("wed", 2),
        ("thursday", 3), ("thu", 3), ("friday", 4), ("fri", 4), ("saturday", 5), ("sat", 5),
        ("sunday", 6), ("sun", 6),
    ]

    private mutating func dayName() throws(CalendarSyntaxError) -> UInt8? {
        for (name, number) in Self.dayNames {
            // Compared in place, ASCII case folded as systemd's strncasecmp (no lower-cased copy
            // for each of the fourteen names at each weekday).
            let end = index + name.utf8.count
            guard end <= length,
                  zip(name.utf8, chars[index..<end]).allSatisfy({ letter, char in char.asciiValue.map { $0 | 0x20 } == letter })
            else { continue }
            if end < length, !"-.., ".contains(chars[end]) {
                throw error("unknown weekday '\(String(chars[index..<end]))\(chars[end])…'")
            }
            index = end
            return number
        }
        return nil
    }

    private mutating func weekdays(into expression: inout CalendarExpression) throws(CalendarSyntaxError) {
        var bits: UInt8 = 0
        var rangeStart: UInt8?
        var first = true
        while true {
            let start = index
            guard let day = try dayName() else {
                if first { return }
                throw error("expected a weekday")
            }
            if let from = rangeStart {
                guard from <= day else { throw error("weekday range runs backwards", at: start) }
                for d in from...day { bits |= 1 << d }
                rangeStart = nil
            } else {
                bits |= 1 << day
            }
            first = false
            if current == nil || current == " " { break }
            switch current {
            case ".":
                guard rangeStart == nil, index + 1 < length, chars[index + 1] == "." else {
                    throw error("expected '..' in a weekday range")
                }
                rangeStart = day
                index += 2
            case "-":
                rangeStart = day
                index += 1
            default:  // ","
                index += 1
            }
            if current == nil || current == " " {
                if rangeStart != nil { throw error("weekday range has no end") }
                break
            }
        }
        skipSpaces()
        expression.weekdays = bits == 0 || bits == CalendarExpression.allWeekdays ? CalendarExpression.allWeekdays : bits
    }

    private mutating func skipSpaces() {
        while current == " " { index += 1 }
    }

    // MARK: Date

    /// Parses a date if one is there; true when nothing may follow it (`@EPOCH`).
    private mutating func date(into expression: inout CalendarExpression) throws(CalendarSyntaxError) -> Bool {
        guard index < length else { return false }
        if current == "@" {
            index += 1
            let start = index
            guard let seconds = number(), seconds <= 253_402_300_799 else {
                throw error("expected seconds since the epoch after '@'", at: start)
            }
            let wall = WallTime(local: Micros(seconds) * Civil.second)
            expression.zoneIdentifier = "UTC"
            expression.year = .value(wall.year)
            expression.month = .value(wall.month)
            expression.day = .value(wall.day)
            expression.hour = .value(wall.hour)
            expression.minute = .value(wall.minute)
            expression.second = .value(wall.microsecond)
            return true
        }
        let begin = index
        let first = try field(seconds: false)
        guard let separator = current, separator != ":" else {
            index = begin
            return false
        }
        guard separator == "-" || separator == "~" else { throw error("expected '-', '~' or ':'") }
        expression.endOfMonth = separator == "~"
        index += 1
        let second = try field(seconds: false)
        if current == nil || current == " " {
            expression.month = first
            expression.day = second
            skipSpaces()
            return false
        }
        if expression.endOfMonth { throw error("'~' may only stand before the day") }
        guard current == "-" || current == "~" else { throw error("expected '-' or '~' before the day") }
        expression.endOfMonth = current == "~"
        index += 1
        let third = try field(seconds: false)
        guard current == nil || current == " " else { throw error("unexpected '\(current!)' after the date") }
        expression.year = Self.fullYears(first)
        expression.month = second
        expression.day = third
        skipSpaces()
        return false
    }

    /// systemd reads two-digit years as 19xx (70–99) or 20xx (00–69).
    private static func fullYears(_ field: CalendarExpression.Field) -> CalendarExpression.Field {
        func fix(_ y: Int) -> Int { y < 0 ? y : y < 70 ? y + 2000 : y < 100 ? y + 1900 : y }
        guard let components = field.components else { return field }
        return CalendarExpression.Field(components: components.map {
            CalendarExpression.Component(start: fix($0.start), stop: fix($0.stop), step: $0.step)
        })
    }

    // MARK: Time

    private mutating func time(into expression: inout CalendarExpression) throws(CalendarSyntaxError) {
        guard index < length else {
            expression.hour = .value(0)
            expression.minute = .value(0)
            expression.second = .value(0)
            return
        }
        expression.hour = try field(seconds: false)
        guard current == ":" else { throw error(current == nil ? "expected ':' and minutes after the hour" : "expected ':'") }
        index += 1
        expression.minute = try field(seconds: false)
        guard current == ":" else {
            if current != nil { throw trailingError("expected ':' or the end") }
            expression.second = .value(0)
            return
        }
        index += 1
        expression.second = try field(seconds: true)
        if index < length { throw trailingError("unexpected '\(chars[index])' after the seconds") }
    }

    // MARK: Fields

    private mutating func field(seconds: Bool) throws(CalendarSyntaxError) -> CalendarExpression.Field {
        if current == "*" {
            index += 1
            if current == "/" { throw error("'*/N' is not calendar syntax: write '0/N' (or '1/N' for days and months)") }
            return seconds ? CalendarExpression.Field(components: [.init(start: 0, step: 1_000_000)]) : .any
        }
        var components: [CalendarExpression.Component] = []
        while true {
            guard components.count < 240 else { throw error("too many values in one field") }
            let begin = index
            var component = CalendarExpression.Component(start: try value(seconds: seconds))
            if current == ".", index + 1 < length, chars[index + 1] == "." {
                index += 2
                component.stop = try value(seconds: seconds)
                component.step = seconds ? 1_000_000 : 1
            }
            if current == "/" {
                index += 1
                component.step = try value(seconds: seconds)
                guard component.step > 0 else { throw error("a repetition must be greater than zero") }
            } else if seconds, component.stop >= 0, component.start + component.step > component.stop {
                // systemd: a seconds range without a repetition steps by one second.
                throw error("seconds range \(CalendarExpression.formatSeconds(component.start))..\(CalendarExpression.formatSeconds(component.stop)) holds no whole second after its start; give a repetition such as /0.5", at: begin)
            }
            // systemd's normalization: the range ends on its last repetition, and a range of
            // one value is that value (so `02..02` and `4..04/100` are 02:00 and 04:00).
            if component.stop > component.start, component.step > 0 {
                component.stop -= (component.stop - component.start) % component.step
            }
            if component.stop >= 0, component.stop == component.start { component = .init(start: component.start) }
            components.append(component)
            try expectFieldEnd()
            guard current == "," else { break }
            index += 1
        }
        return CalendarExpression.Field(components: components)
    }

    private func expectFieldEnd() throws(CalendarSyntaxError) {
        guard let c = current else { return }
        if !" ,-~:".contains(c) { throw error("unexpected '\(c)'") }
    }

    private mutating func value(seconds: Bool) throws(CalendarSyntaxError) -> Int {
        let start = index
        guard let whole = number() else {
            throw error(current.map { "expected a number, found '\($0)'" } ?? "expected a number", at: start)
        }
        guard seconds else {
            guard whole <= Int(Int32.max) else { throw error("number too large", at: start) }
            return whole
        }
        guard whole <= 2147 else { throw error("number too large", at: start) }
        var micros = whole * 1_000_000
        if current == ".", !(index + 1 < length && chars[index + 1] == ".") {
            index += 1
            // Microseconds, rounded at the seventh digit as systemd does.
            var fraction = 0
            var digits = 0
            while let c = current, let digit = Self.digit(c) {
                if digits < 7 { fraction = fraction * 10 + digit }
                digits += 1
                index += 1
            }
            if digits == 0 { throw error("expected digits after the decimal point") }
            if digits >= 7 {
                fraction = (fraction + 5) / 10
            } else {
                for _ in digits..<6 { fraction *= 10 }
            }
            micros += fraction
        }
        return micros
    }

    private mutating func number() -> Int? {
        var value = 0
        var digits = 0
        while let c = current, let digit = Self.digit(c) {
            if value < Int(Int32.max) * 10 { value = value * 10 + digit }
            digits += 1
            index += 1
        }
        return digits == 0 ? nil : value
    }
}
