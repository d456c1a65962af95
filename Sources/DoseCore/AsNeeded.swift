/// A medication taken as needed, within safe limits (SPEC 10): at least `min_interval` between
/// two takes, and at most `max.doses` in any `max.per`. Limits count every take of the medication
/// (scheduled, unscheduled, as needed) in elapsed time, so a clock or zone change moves nothing.
public struct AsNeeded: Sendable, Equatable {
    public var minInterval: Micros
    public var minIntervalText: String
    public var maxDoses: Int?
    public var per: Micros?
    public var perText: String?
    public var reason: String?

    public init(minInterval: Micros, minIntervalText: String) {
        self.minInterval = minInterval
        self.minIntervalText = minIntervalText
    }

    /// How far back takes matter.
    public var lookback: Micros { Swift.max(minInterval, per ?? 0) }

    /// Whether a take at `now` is allowed after `takes`, and if not, from when and why.
    public struct Availability: Sendable, Equatable {
        /// When the next take is allowed; nil: now.
        public var from: Micros?
        /// Takes in the last `per` (or, without `max`, the last `min_interval`).
        public var takenInPeriod: Int
        /// The last take, if within the lookback.
        public var lastTake: Micros?
        /// Which limit holds it back.
        public var limit: Limit?

        public enum Limit: Sendable, Equatable {
            case interval
            case maximum
        }

        public var isAllowed: Bool { from == nil }
    }

    /// Why a take is refused, in `zone`: "Paracetamol: taken at 13:05; next from 17:05 (at least
    /// 4h apart)". Times are whole minutes (the next one rounded up), with the date when not today.
    public func refusal(_ name: String, _ availability: Availability, zone: ZoneRules, now: Micros) -> String {
        func clock(_ instant: Micros) -> String {
            let minute = Civil.floorDiv(instant, Civil.minute) * Civil.minute
            let wall = WallTime(local: zone.wall(at: minute)), today = WallTime(local: zone.wall(at: now))
            let time = RFC3339.shortClock(minute, zone: zone)
            return (wall.year, wall.month, wall.day) == (today.year, today.month, today.day) ? time : RFC3339.civil(wall) + " " + time
        }
        let next = availability.from.map { "next from " + clock($0 + Civil.minute - 1) } ?? "allowed now"
        if availability.limit == .maximum {
            return "\(name): \(availability.takenInPeriod) taken in the last \(perText ?? ""); \(next) (at most \(maxDoses ?? 0) in \(perText ?? ""))"
        }
        let last = availability.lastTake.map { "taken at " + clock($0) } ?? "taken recently"
        return "\(name): \(last); \(next) (at least \(minIntervalText) apart)"
    }

    /// The availability at `now`. A take exactly `min_interval` after the last is allowed; a
    /// take drops out of `max.per` exactly `per` after it was taken.
    public func availability(takes: [Micros], now: Micros) -> Availability {
        let recent = takes.filter { $0 > now - lookback }.sorted()
        var result = Availability(from: nil, takenInPeriod: 0, lastTake: recent.last, limit: nil)
        var from: Micros?
        if let last = recent.last, last > now - minInterval {
            from = last + minInterval
            result.limit = .interval
        }
        if let maxDoses, let per {
            let inPeriod = recent.filter { $0 > now - per }
            result.takenInPeriod = inPeriod.count
            if inPeriod.count >= maxDoses {
                // Allowed once enough of them have dropped out: the one that leaves `maxDoses - 1`.
                let out = inPeriod[inPeriod.count - maxDoses] + per
                if from.map({ out > $0 }) ?? true {
                    from = out
                    result.limit = .maximum
                }
            }
        } else {
            result.takenInPeriod = recent.filter { $0 > now - minInterval }.count
        }
        result.from = from
        return result
    }
}
