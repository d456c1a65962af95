/// RFC 3339 text for instants: the form of every `due` and dose id (SPEC 4).
///
/// Written by hand because dose ids must be byte-exact (`Z`, whole seconds, a fraction only when
/// the instant has one) and `next -n 10000` formats thousands of them.
public enum RFC3339 {
    /// `2026-11-30T20:00:00Z`; a fraction (trailing zeros trimmed) only when there is one.
    public static func utc(_ instant: Micros) -> String {
        format(capacity: 40) { $0.utc(instant) }
    }

    /// `2026-11-30T21:00:00+01:00`: the wall time at `offset` seconds east of UTC.
    public static func local(_ instant: Micros, offset: Int) -> String {
        format(capacity: 40) { $0.local(instant, offset: offset) }
    }

    /// Appends ``utc(_:)``'s text to `bytes` without making a string (a listing writes thousands).
    public static func append(utc instant: Micros, to bytes: inout [UInt8]) {
        append(capacity: 40, to: &bytes) { $0.utc(instant) }
    }

    /// Appends ``local(_:offset:)``'s text to `bytes` without making a string.
    public static func append(local instant: Micros, offset: Int, to bytes: inout [UInt8]) {
        append(capacity: 40, to: &bytes) { $0.local(instant, offset: offset) }
    }

    /// `+01:00`, `-05:00`, `+00:00`: seconds east of UTC as hours and minutes.
    public static func offset(_ seconds: Int) -> String {
        format(capacity: 6) { $0.offset(seconds) }
    }

    /// `2026-11-30`.
    public static func civil(_ wall: WallTime) -> String {
        format(capacity: 20) { $0.civil(wall) }
    }

    /// `20:14` (`20:14:30` with seconds; fractions dropped), in `zone`: how people read a time.
    public static func shortClock(_ instant: Micros, zone: ZoneRules) -> String {
        let wall = WallTime(local: zone.wall(at: instant))
        let text = clock(WallTime(local: wall.local - wall.local % Civil.second))
        return text.hasSuffix(":00") ? String(text.dropLast(3)) : text
    }

    /// `20:00:00` or `20:00:00.5`.
    public static func clock(_ wall: WallTime) -> String {
        format(capacity: 20) { $0.clock(wall) }
    }

    /// `value` (≥ 0) in at least `width` digits, zero-padded.
    static func pad(_ value: Int, _ width: Int) -> String {
        format(capacity: Swift.max(width, 20)) { $0.digits(value, width) }
    }

    /// The text `write` puts into a buffer of `capacity` bytes, written straight into the
    /// string's storage: thousands of ids and times are formatted per listing. Capacities hold
    /// the longest text (a six-digit year, a six-digit fraction, an offset).
    private static func format(capacity: Int, _ write: (inout Digits) -> Void) -> String {
        String(unsafeUninitializedCapacity: capacity) { buffer in
            var digits = Digits(buffer: buffer)
            write(&digits)
            return digits.count
        }
    }

    /// What `write` puts into a buffer of `capacity` bytes on the stack, appended to `bytes`.
    private static func append(capacity: Int, to bytes: inout [UInt8], _ write: (inout Digits) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var digits = Digits(buffer: buffer)
            write(&digits)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<digits.count]))
        }
    }

    /// Digits and punctuation written into a fixed buffer the caller sized for them.
    struct Digits {
        let buffer: UnsafeMutableBufferPointer<UInt8>
        var count = 0

        mutating func byte(_ byte: UInt8) {
            precondition(count < buffer.count, "RFC3339 capacity")
            buffer[count] = byte
            count += 1
        }

        /// `value` in at least `width` digits, zero-padded; a negative one (a year before year 0,
        /// which no time given reaches) after a minus sign, so formatting never traps.
        mutating func digits(_ value: Int, _ width: Int) {
            if value < 0 { byte(UInt8(ascii: "-")) }
            let magnitude = value.magnitude
            var length = 1
            var rest = magnitude / 10
            while rest > 0 { length += 1; rest /= 10 }
            length = Swift.max(length, width)
            precondition(count + length <= buffer.count, "RFC3339 capacity")
            var remaining = magnitude
            for index in stride(from: count + length - 1, through: count, by: -1) {
                buffer[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            }
            count += length
        }

        mutating func civil(_ wall: WallTime) {
            digits(wall.year, 4); byte(UInt8(ascii: "-")); digits(wall.month, 2); byte(UInt8(ascii: "-")); digits(wall.day, 2)
        }

        /// `20:00:00` or `20:00:00.5` (trailing zeros of the fraction trimmed).
        mutating func clock(_ wall: WallTime) {
            digits(wall.hour, 2); byte(UInt8(ascii: ":")); digits(wall.minute, 2); byte(UInt8(ascii: ":"))
            digits(wall.microsecond / 1_000_000, 2)
            var fraction = wall.microsecond % 1_000_000
            if fraction > 0 {
                var width = 6
                while fraction % 10 == 0 { fraction /= 10; width -= 1 }
                byte(UInt8(ascii: "."))
                digits(fraction, width)
            }
        }

        mutating func time(_ wall: WallTime) {
            civil(wall); byte(UInt8(ascii: "T")); clock(wall)
        }

        /// `2026-11-30T20:00:00Z`.
        mutating func utc(_ instant: Micros) {
            time(WallTime(local: instant)); byte(UInt8(ascii: "Z"))
        }

        /// `2026-11-30T21:00:00+01:00`.
        mutating func local(_ instant: Micros, offset seconds: Int) {
            time(WallTime(local: instant + Micros(seconds) * Civil.second)); offset(seconds)
        }

        mutating func offset(_ seconds: Int) {
            let minutes = abs(seconds) / 60
            byte(UInt8(ascii: seconds < 0 ? "-" : "+")); digits(minutes / 60, 2); byte(UInt8(ascii: ":")); digits(minutes % 60, 2)
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)` (a space or `t` may stand for `T`, `z` for `Z`).
    public static func parse(_ text: String) -> Micros? {
        var scanner = DateScanner(text)
        guard let wall = scanner.wallTime(requireTime: true), let offset = scanner.offset(), scanner.atEnd
        else { return nil }
        return wall.local - Micros(offset) * Civil.second
    }

}

/// A small scanner for the date and time forms of the CLI and RFC 3339.
struct DateScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    var atEnd: Bool { index == bytes.count }

    /// `YYYY-MM-DD`, then optionally (or necessarily) `[T ]HH:MM[:SS[.f]]`.
    mutating func wallTime(requireTime: Bool) -> WallTime? {
        guard let year = number(exactly: 4), literal("-"), let month = number(exactly: 2), literal("-"),
              let day = number(exactly: 2)
        else { return nil }
        var wall = WallTime(year: year, month: month, day: day)
        if atEnd {
            return requireTime ? nil : (wall.isValid ? wall : nil)
        }
        guard literal("T") || literal("t") || literal(" "), let hour = number(exactly: 2), literal(":"),
              let minute = number(exactly: 2)
        else { return nil }
        wall.hour = hour
        wall.minute = minute
        if literal(":") {
            guard let second = number(exactly: 2), second < 60 else { return nil }
            wall.microsecond = second * 1_000_000
            if literal(".") {
                var scale = 100_000
                var sawDigit = false
                while let digit = peekDigit() {
                    index += 1
                    sawDigit = true
                    wall.microsecond += digit * scale
                    scale /= 10
                }
                guard sawDigit else { return nil }
            }
        } else if requireTime {
            return nil
        }
        return wall.isValid ? wall : nil
    }

    /// `Z` or `±HH:MM`, as seconds east of UTC.
    mutating func offset() -> Int? {
        if literal("Z") || literal("z") { return 0 }
        let sign: Int
        if literal("+") { sign = 1 } else if literal("-") { sign = -1 } else { return nil }
        guard let hours = number(exactly: 2), literal(":"), let minutes = number(exactly: 2),
              hours < 24, minutes < 60
        else { return nil }
        return sign * (hours * 3600 + minutes * 60)
    }

    private mutating func literal(_ character: Character) -> Bool {
        guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
        index += 1
        return true
    }

    private func peekDigit() -> Int? {
        guard index < bytes.count, (48...57).contains(bytes[index]) else { return nil }
        return Int(bytes[index] - 48)
    }

    private mutating func number(exactly width: Int) -> Int? {
        var value = 0
        for _ in 0..<width {
            guard let digit = peekDigit() else { return nil }
            value = value * 10 + digit
            index += 1
        }
        return value
    }
}
