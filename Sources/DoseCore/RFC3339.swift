/// RFC 3339 text for instants: the form of every `due` and dose id (SPEC 4).
///
/// Written by hand because dose ids must be byte-exact (`Z`, whole seconds, a fraction only when
/// the instant has one) and `next -n 10000` formats thousands of them.
public enum RFC3339 {
    /// `2026-11-30T20:00:00Z`; a fraction (trailing zeros trimmed) only when there is one.
    public static func utc(_ instant: Micros) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        let wall = WallTime(local: instant)
        appendCivil(wall, to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        appendClock(wall, to: &bytes)
        bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `2026-11-30T21:00:00+01:00`: the wall time at `offset` seconds east of UTC.
    public static func local(_ instant: Micros, offset: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        let wall = WallTime(local: instant + Micros(offset) * Civil.second)
        appendCivil(wall, to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        appendClock(wall, to: &bytes)
        let minutes = abs(offset) / 60
        bytes.append(UInt8(ascii: offset < 0 ? "-" : "+"))
        appendDigits(minutes / 60, 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(minutes % 60, 2, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `+01:00`, `-05:00`, `+00:00`: seconds east of UTC as hours and minutes.
    public static func offset(_ seconds: Int) -> String {
        let minutes = abs(seconds) / 60
        return (seconds < 0 ? "-" : "+") + pad(minutes / 60, 2) + ":" + pad(minutes % 60, 2)
    }

    /// `2026-11-30`.
    public static func civil(_ wall: WallTime) -> String {
        var bytes: [UInt8] = []
        appendCivil(wall, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `20:14` (`20:14:30` with seconds; fractions dropped), in `zone`: how people read a time.
    public static func shortClock(_ instant: Micros, zone: ZoneRules) -> String {
        let wall = WallTime(local: zone.wall(at: instant))
        let text = clock(WallTime(local: wall.local - wall.local % Civil.second))
        return text.hasSuffix(":00") ? String(text.dropLast(3)) : text
    }

    /// `20:00:00` or `20:00:00.5`.
    public static func clock(_ wall: WallTime) -> String {
        var bytes: [UInt8] = []
        appendClock(wall, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    // Digits straight into bytes: thousands of ids are formatted per listing.

    static func appendCivil(_ wall: WallTime, to bytes: inout [UInt8]) {
        appendDigits(wall.year, 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(wall.month, 2, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(wall.day, 2, to: &bytes)
    }

    static func appendClock(_ wall: WallTime, to bytes: inout [UInt8]) {
        appendDigits(wall.hour, 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(wall.minute, 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(wall.microsecond / 1_000_000, 2, to: &bytes)
        var fraction = wall.microsecond % 1_000_000
        if fraction > 0 {
            var digits = 6
            while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
            bytes.append(UInt8(ascii: "."))
            appendDigits(fraction, digits, to: &bytes)
        }
    }

    /// `value` (≥ 0) in at least `width` digits, zero-padded.
    static func appendDigits(_ value: Int, _ width: Int, to bytes: inout [UInt8]) {
        var count = 1
        var power = 10
        while power <= value { count += 1; power *= 10 }
        for _ in count..<Swift.max(count, width) { bytes.append(UInt8(ascii: "0")) }
        var divisor = power / 10
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)` (a space or `t` may stand for `T`, `z` for `Z`).
    public static func parse(_ text: String) -> Micros? {
        var scanner = DateScanner(text)
        guard let wall = scanner.wallTime(requireTime: true), let offset = scanner.offset(), scanner.atEnd
        else { return nil }
        return wall.local - Micros(offset) * Civil.second
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
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
