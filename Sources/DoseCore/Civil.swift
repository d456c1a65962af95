/// Microseconds, the unit of every instant and wall time inside the engine.
///
/// Instants count from 1970-01-01T00:00:00Z; wall times count from 1970-01-01 00:00 on a clock
/// that ignores zones ("local microseconds"). Integers keep repetition arithmetic exact where
/// `Date`'s floating point would drift.
public typealias Micros = Int64

/// Constants and proleptic-Gregorian arithmetic on civil dates, without zones.
public enum Civil {
    public static let second: Micros = 1_000_000
    public static let minute: Micros = 60 * second
    public static let hour: Micros = 60 * minute
    public static let day: Micros = 24 * hour

    /// Whether `year` has 29 February.
    public static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    /// The number of days in `month` (1–12) of `year`.
    public static func daysIn(month: Int, of year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`).
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
    public static func date(days z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// ISO weekday of a day count: 0 = Monday … 6 = Sunday.
    public static func weekday(days: Int) -> Int {
        // 1970-01-01 was a Thursday (3).
        ((days % 7) + 7 + 3) % 7
    }

    /// Floor division, exact for negative instants too.
    public static func floorDiv(_ a: Micros, _ b: Micros) -> Micros {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}

/// A wall-clock reading: civil date and time of day, with microseconds, in no zone.
public struct WallTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    /// Seconds within the minute, in microseconds (0 ..< 60 000 000).
    public var microsecond: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, microsecond: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.microsecond = microsecond
    }

    /// The reading `local` microseconds after 1970-01-01 00:00 on a zoneless clock.
    public init(local: Micros) {
        let days = Civil.floorDiv(local, Civil.day)
        let rest = local - days * Civil.day
        let (y, m, d) = Civil.date(days: Int(days))
        self.init(
            year: y, month: m, day: d,
            hour: Int(rest / Civil.hour),
            minute: Int(rest % Civil.hour / Civil.minute),
            microsecond: Int(rest % Civil.minute))
    }

    /// Microseconds after 1970-01-01 00:00 on a zoneless clock.
    public var local: Micros {
        Micros(Civil.days(year: year, month: month, day: day)) * Civil.day
            + Micros(hour) * Civil.hour + Micros(minute) * Civil.minute + Micros(microsecond)
    }

    /// Whether the fields name a real calendar date and time of day.
    public var isValid: Bool {
        (1...12).contains(month) && day >= 1 && day <= Civil.daysIn(month: month, of: year)
            && (0...23).contains(hour) && (0...59).contains(minute)
            && (0..<60_000_000).contains(microsecond)
    }

    public static func < (a: WallTime, b: WallTime) -> Bool { a.local < b.local }

    /// `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    public var description: String {
        RFC3339.civil(self) + " " + RFC3339.clock(self)
    }
}
