/// When one schedule of a medication makes doses due (SPEC 3), as read from its `[[schedule]]` table.
public struct Schedule: Sendable, Equatable {
    /// What generates the due times.
    public enum Timing: Sendable, Equatable {
        /// `on`: the union of calendar expressions.
        case calendar([CalendarExpression])
        /// `every` + `first`: elapsed-time steps from the first dose.
        case interval(every: Micros, first: TimePoint)
    }

    /// `cycle`: courses of treatment with rests between them.
    public enum Cycle: Sendable, Equatable {
        /// `{ doses = N, off = D }`: N doses, then the next course starts D after the last one.
        case doses(Int, off: Micros)
        /// `{ on = A, off = B }`: half-open periods `[p, p + A)` every `A + B`.
        case periods(on: Micros, off: Micros)
    }

    /// `anchor`: what the next dose of an `every` schedule counts from.
    public enum Anchor: String, Sendable, Equatable {
        case schedule
        case taken
    }

    /// The id within the medication, e.g. `evening`.
    public var id: String
    public var timing: Timing
    /// Pre-reminder lead times, e.g. 30 minutes.
    public var before: [Micros] = []
    /// Reminder policy: on time within `window` after due; re-remind every `repeat`; warnings from `escalate`.
    public var window: Micros = 2 * Civil.hour
    public var repeatEvery: Micros = 15 * Civil.minute
    public var escalate: Micros = Civil.hour
    /// First due time allowed; a date means its 00:00.
    public var start: TimePoint?
    /// Last due time allowed, inclusive; a date means the whole day.
    public var end: TimePoint?
    /// IANA zone for this schedule's wall times, overriding `dosed.toml`.
    public var timezone: String?
    public var cycle: Cycle?
    /// Stop after this many doses.
    public var count: Int?
    public var anchor: Anchor = .schedule
    public var paused = false
    /// Doses due before this are paused.
    public var pausedUntil: TimePoint?
    /// This schedule's `dose` and `route`, overriding the medication's (SPEC 10): induction then
    /// maintenance, titration steps.
    public var dose: String?
    public var route: String?

    public init(id: String, timing: Timing) {
        self.id = id
        self.timing = timing
    }
}

/// A point in time as the config writes it: a local date, a local date-time, or an instant.
public enum TimePoint: Sendable, Equatable, CustomStringConvertible {
    /// A TOML local date (`2026-12-01`): that day's start, or for an `end`, the whole day.
    case date(WallTime)
    /// A TOML local date-time, read in the schedule's zone.
    case local(WallTime)
    /// A TOML offset date-time: an exact instant.
    case instant(Micros)

    /// The instant at which this point starts, in `zone`.
    public func instant(in zone: ZoneRules) -> Micros {
        switch self {
        case .date(let wall), .local(let wall): zone.resolve(wall.local).instant
        case .instant(let instant): instant
        }
    }

    /// The last instant covered: for a date, just before the next day starts.
    public func lastInstant(in zone: ZoneRules) -> Micros {
        switch self {
        case .date(let wall): zone.resolve(wall.local + Civil.day).instant - 1
        default: instant(in: zone)
        }
    }

    public var description: String {
        switch self {
        case .date(let wall): RFC3339.civil(wall)
        case .local(let wall): RFC3339.civil(wall) + "T" + RFC3339.clock(wall)
        case .instant(let instant): RFC3339.utc(instant)
        }
    }
}
