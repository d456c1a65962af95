/// A calendar event expression of systemd.time(7), e.g. `Mon,Wed,Fri 20:00` or `*-*~01 08:00 UTC`.
///
/// The whole grammar: weekday lists and ranges, `*`, value lists, `..` ranges, `/` repetitions,
/// `~` (days from the end of the month), seconds with fractions, `@EPOCH`, the shorthands
/// (`daily`, `weekly`, …) and a trailing `UTC` or IANA zone. An expression matches wall-clock
/// times; ``next(after:in:)`` turns matches into instants by SPEC 4's rule.
public struct CalendarExpression: Sendable, Hashable, CustomStringConvertible {
    /// The text as written.
    public let source: String
    /// The zone named inside the expression, if any (`UTC` or an IANA name).
    public internal(set) var zoneIdentifier: String?

    /// Bit 0 = Monday … bit 6 = Sunday; all bits = any day.
    var weekdays: UInt8 = Self.allWeekdays
    var year: Field = .any
    var month: Field = .any
    var day: Field = .any
    /// Days count from the end of the month (`~`).
    var endOfMonth = false
    var hour: Field = .any
    var minute: Field = .any
    /// Seconds within the minute, in microseconds.
    var second: Field = .any

    static let allWeekdays: UInt8 = 0x7F
    static let minYear = 1970
    static let maxYear = 2199

    public var description: String { source }

    /// A plain weekly list such as `Mon,Wed,Fri 20:00` or `*-*-* 08,20:00`: its weekdays (1 =
    /// Monday … 7 = Sunday) and times of day (whole seconds after midnight, ascending); nil for
    /// anything with dates, ranges, repetitions or fractions of seconds.
    public var weekly: (weekdays: [Int], times: [Int])? {
        guard year.components == nil, month.components == nil, day.components == nil, !endOfMonth,
              let hours = hour.values, let minutes = minute.values, let seconds = second.values,
              seconds.allSatisfy({ $0 % 1_000_000 == 0 })
        else { return nil }
        let days = (0..<7).filter { weekdays & (1 << $0) != 0 }.map { $0 + 1 }
        let times = hours.flatMap { h in minutes.flatMap { m in seconds.map { h * 3600 + m * 60 + $0 / 1_000_000 } } }
        return (days, times.sorted())
    }

    // MARK: - Matching wall times

    /// The earliest matching wall time at or after `local` (zoneless microseconds), or nil when
    /// nothing matches before the year 2200.
    public func nextWall(atOrAfter local: Micros) -> Micros? {
        let start = WallTime(local: local)
        var y = start.year, mo = start.month, d = start.day
        var h = start.hour, mi = start.minute, us = start.microsecond
        while y <= Self.maxYear {
            guard let y2 = year.next(atLeast: y, max: Self.maxYear) else { return nil }
            if y2 != y { y = y2; mo = 1; d = 1; h = 0; mi = 0; us = 0 }
            guard let mo2 = month.next(atLeast: mo, max: 12) else {
                y += 1; mo = 1; d = 1; h = 0; mi = 0; us = 0
                continue
            }
            if mo2 != mo { mo = mo2; d = 1; h = 0; mi = 0; us = 0 }
            guard let d2 = nextDay(atLeast: d, year: y, month: mo) else {
                mo += 1; d = 1; h = 0; mi = 0; us = 0
                continue
            }
            if d2 != d { d = d2; h = 0; mi = 0; us = 0 }
            guard let h2 = hour.next(atLeast: h, max: 23) else {
                d += 1; h = 0; mi = 0; us = 0
                continue
            }
            if h2 != h { h = h2; mi = 0; us = 0 }
            guard let mi2 = minute.next(atLeast: mi, max: 59) else {
                h += 1; mi = 0; us = 0
                continue
            }
            if mi2 != mi { mi = mi2; us = 0 }
            guard let us2 = second.next(atLeast: us, max: 59_999_999) else {
                mi += 1; us = 0
                continue
            }
            return WallTime(year: y, month: mo, day: d, hour: h, minute: mi, microsecond: us2).local
        }
        return nil
    }

    private func nextDay(atLeast first: Int, year y: Int, month mo: Int) -> Int? {
        let length = Civil.daysIn(month: mo, of: y)
        var candidate = first
        while candidate <= length {
            let found: Int?
            if endOfMonth {
                found = day.fromMonthEnd(length: length).next(atLeast: candidate, max: length)
            } else {
                found = day.next(atLeast: candidate, max: length)
            }
            guard let d = found else { return nil }
            if weekdays == Self.allWeekdays
                || weekdays & (1 << UInt8(Civil.weekday(days: Civil.days(year: y, month: mo, day: d)))) != 0
            {
                return d
            }
            candidate = d + 1
        }
        return nil
    }

    /// Whether the wall time matches every field of the expression.
    public func matches(_ wall: WallTime) -> Bool {
        guard wall.isValid else { return false }
        let length = Civil.daysIn(month: wall.month, of: wall.year)
        let dayField = endOfMonth ? day.fromMonthEnd(length: length) : day
        let weekday = Civil.weekday(days: Civil.days(year: wall.year, month: wall.month, day: wall.day))
        return year.contains(wall.year) && month.contains(wall.month) && dayField.contains(wall.day)
            && weekdays & (1 << UInt8(weekday)) != 0 && hour.contains(wall.hour)
            && minute.contains(wall.minute) && second.contains(wall.microsecond)
    }

    // MARK: - Instants

    /// The first instant strictly after `instant` at which the expression elapses, with the
    /// expression's own zone if it names one, else `zone` (SPEC 4).
    ///
    /// Every matching wall time is one instant: once → it, twice → the first, in a gap → under the
    /// offset before the gap. Gap instants can fall after later wall times' instants, so when the
    /// first candidate is a gap time, the wall times that could map earlier are examined too.
    public func next(after instant: Micros, in zone: ZoneRules) -> Micros? {
        // A wall time in a recent gap maps to an instant after `instant` though it reads earlier
        // than the wall clock at `instant`: start from the smallest recent offset.
        let offset = min(zone.offset(at: instant), zone.offset(at: instant - 2 * Civil.day))
        var wall = nextWall(atOrAfter: instant + Micros(offset) * Civil.second + 1)
        var best: Micros?
        var bound: Micros?
        while let current = wall {
            if let bound, current >= bound { break }
            let resolution = zone.resolve(current)
            if resolution.instant > instant {
                if best.map({ resolution.instant < $0 }) ?? true { best = resolution.instant }
                if bound == nil {
                    guard resolution.occurrence == .gap else { break }
                    // Wall times after the gap map earlier than this one while below this bound.
                    bound = current + Micros(resolution.jump) * Civil.second
                }
            }
            wall = nextWall(atOrAfter: current + 1)
        }
        return best
    }
}

// MARK: - Fields

extension CalendarExpression {
    /// One `start[..stop][/repeat]` item of a field's comma-separated list.
    struct Component: Sendable, Hashable {
        var start: Int
        /// Inclusive end, or -1 for none.
        var stop: Int = -1
        /// Step, or 0 for a single value.
        var step: Int = 0

        func next(atLeast value: Int) -> Int? {
            if start >= value { return start }
            guard step > 0 else { return nil }
            let k = start + step * ((value - start + step - 1) / step)
            return stop < 0 || k <= stop ? k : nil
        }

        func contains(_ value: Int) -> Bool {
            if value == start { return true }
            guard step > 0, value > start, (value - start) % step == 0 else { return false }
            return stop < 0 || value <= stop
        }
    }

    /// A field: `*` (any value) or a list of components.
    struct Field: Sendable, Hashable {
        var components: [Component]?

        static let any = Field(components: nil)

        static func value(_ value: Int) -> Field { Field(components: [Component(start: value)]) }

        /// The values of a list of single values; nil for `*`, ranges and repetitions.
        var values: [Int]? {
            guard let components, components.allSatisfy({ $0.stop < 0 && $0.step == 0 }) else { return nil }
            return components.map(\.start).sorted()
        }

        func next(atLeast value: Int, max: Int) -> Int? {
            guard let components else { return value <= max ? value : nil }
            var best: Int?
            for component in components {
                if let k = component.next(atLeast: value), k <= max, best.map({ k < $0 }) ?? true { best = k }
            }
            return best
        }

        func contains(_ value: Int) -> Bool {
            components?.contains { $0.contains(value) } ?? true
        }

        /// Days counted from the end of a month of `length` days, as days of the month.
        func fromMonthEnd(length: Int) -> Field {
            guard let components else { return self }
            return Field(components: components.map { c in
                let first = length + 1 - c.start
                guard c.stop >= 0 else { return Component(start: first, stop: -1, step: c.step) }
                return Component(start: length + 1 - c.stop, stop: first, step: c.step)
            })
        }
    }
}
