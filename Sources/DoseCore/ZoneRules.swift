import Foundation
import Synchronization

/// A time zone's offsets from UTC, and SPEC 4's rule for turning a wall time into an instant.
///
/// The tz database is read through Foundation's `TimeZone`; its transitions are cached here,
/// ten years at a time, so that the engine's many look-ups are a binary search.
public final class ZoneRules: Sendable, CustomStringConvertible {
    /// How a wall time maps onto the zone's timeline.
    public enum Occurrence: Sendable, Equatable {
        /// The wall time happens once.
        case once
        /// The wall time happens twice (clocks go back); the instant is the first.
        case twice
        /// The wall time never happens (clocks go forward); the instant is the one it names under
        /// the offset in force before the gap.
        case gap
    }

    /// An instant for a wall time, and how it was found.
    public struct Resolution: Sendable, Equatable {
        public var instant: Micros
        public var occurrence: Occurrence
        /// Seconds the clock jumps at the nearest transition (positive for a gap), else 0.
        public var jump: Int
    }

    /// The IANA identifier, e.g. `Europe/London`.
    public let identifier: String
    private let zone: TimeZone
    private let cache: Mutex<Transitions>

    private static let known = Mutex<[String: ZoneRules]>([:])

    /// The rules of an IANA zone as Foundation's time-zone data has them, or nil when it has no
    /// zone of that name. Whether a name may be used at all is the ``ZoneDatabase``'s to say
    /// (Foundation also knows names systemd refuses); this look-up serves names already accepted.
    public static func named(_ identifier: String) -> ZoneRules? {
        if let rules = known.withLock({ $0[identifier] }) { return rules }
        guard isPlausibleIdentifier(identifier), let zone = TimeZone(identifier: identifier) else { return nil }
        let rules = ZoneRules(identifier: identifier, zone: zone)
        known.withLock { $0[identifier] = rules }
        return rules
    }

    /// UTC.
    public static let utc = ZoneRules(identifier: "UTC", zone: TimeZone(identifier: "UTC")!)

    private init(identifier: String, zone: TimeZone) {
        self.identifier = identifier
        self.zone = zone
        self.cache = Mutex(Transitions(zone: zone))
    }

    public var description: String { identifier }

    /// Seconds east of UTC in force at `instant`.
    public func offset(at instant: Micros) -> Int {
        let seconds = Civil.floorDiv(instant, Civil.second)
        return cache.withLock { $0.offset(at: seconds, zone: zone) }
    }

    /// The wall time (local microseconds) showing at `instant`.
    public func wall(at instant: Micros) -> Micros {
        instant + Micros(offset(at: instant)) * Civil.second
    }

    /// The instant a wall time names (SPEC 4): once → it; twice → the first; never → under the
    /// offset in force before the gap.
    public func resolve(_ wall: Micros) -> Resolution {
        let before = offset(at: wall - Civil.day)
        let after = offset(at: wall + Civil.day)
        let early = wall - Micros(before) * Civil.second
        if before == after {
            if offset(at: early) == before { return Resolution(instant: early, occurrence: .once, jump: 0) }
            // Two transitions within a day of each other: treat the reading as unreachable.
            return Resolution(instant: early, occurrence: .gap, jump: 0)
        }
        let late = wall - Micros(after) * Civil.second
        let earlyValid = offset(at: early) == before
        let lateValid = offset(at: late) == after
        switch (earlyValid, lateValid) {
        case (true, true):
            return Resolution(instant: min(early, late), occurrence: .twice, jump: after - before)
        case (true, false):
            return Resolution(instant: early, occurrence: .once, jump: after - before)
        case (false, true):
            return Resolution(instant: late, occurrence: .once, jump: after - before)
        case (false, false):
            return Resolution(instant: early, occurrence: .gap, jump: after - before)
        }
    }

    /// Names made of the characters IANA uses; keeps `TimeZone` from accepting "GMT+5"-style customs.
    static func isPlausibleIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic, !name.hasSuffix("/") else {
            return false
        }
        return name.unicodeScalars.allSatisfy {
            ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0)
                || "/_-+".unicodeScalars.contains($0)
        } && !name.contains("//")
    }
}

/// The time zones a configuration may name, and the system's own. DoseCore reads no file: whoever
/// loads a configuration says which names this machine's tz database holds (DoseFiles'
/// `ConfigDirectory.zones()` looks under `TZDIR`, as systemd does) and which zone is the system's.
public struct ZoneDatabase: Sendable {
    /// The zone wall times are read in when neither a schedule nor `dosed.toml` names one.
    public var system: ZoneRules
    private let holds: @Sendable (String) -> Bool

    /// A database holding the names `holds` accepts (among those Foundation's time-zone data
    /// knows), with `system` as the system's zone.
    public init(system: ZoneRules, holds: @escaping @Sendable (String) -> Bool) {
        self.system = system
        self.holds = holds
    }

    /// Every zone Foundation's time-zone data knows, `system` the system's zone: for tests and
    /// tools without a tz directory. It accepts ICU's custom names ("GMT+5"), which systemd refuses.
    public static func foundation(system: ZoneRules = .utc) -> ZoneDatabase {
        ZoneDatabase(system: system) { _ in true }
    }

    /// The rules of a zone the database holds, else nil.
    public func named(_ identifier: String) -> ZoneRules? {
        // Asked for the last word of every calendar expression ("20:00" mostly): the cheap test first.
        guard ZoneRules.isPlausibleIdentifier(identifier), holds(identifier) else { return nil }
        return ZoneRules.named(identifier)
    }
}

/// The cached transitions of one zone over a covered span of seconds.
private struct Transitions: Sendable {
    private static let span: Int64 = 10 * 366 * 86_400

    private var from: Int64
    private var to: Int64
    /// Offset in force at `from`.
    private var initialOffset: Int
    /// Transition instants (seconds) in (from, to], ascending, with the offset from each on.
    private var instants: [Int64] = []
    private var offsets: [Int] = []

    /// Covers the single instant `from` (by default near the present); extended on demand.
    init(zone: TimeZone, from: Int64 = 1_700_000_000) {
        self.from = from
        self.to = from
        initialOffset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(from)))
    }

    mutating func offset(at seconds: Int64, zone: TimeZone) -> Int {
        if seconds < from { extendDown(to: seconds - Self.span, zone: zone) }
        if seconds > to { extendUp(to: seconds + Self.span, zone: zone) }
        // The last transition at or before `seconds`.
        var low = 0
        var high = instants.count
        while low < high {
            let mid = (low + high) / 2
            if instants[mid] <= seconds { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? initialOffset : offsets[low - 1]
    }

    private mutating func extendUp(to limit: Int64, zone: TimeZone) {
        var cursor = to
        while let next = zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: TimeInterval(cursor))) {
            let seconds = Int64(next.timeIntervalSince1970.rounded())
            if seconds > limit { break }
            if seconds > to {
                instants.append(seconds)
                offsets.append(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds))))
            }
            cursor = max(seconds, cursor + 1)
        }
        to = limit
    }

    private mutating func extendDown(to limit: Int64, zone: TimeZone) {
        var lower = Transitions(zone: zone, from: limit)
        lower.extendUp(to: from, zone: zone)
        instants = lower.instants + instants
        offsets = lower.offsets + offsets
        initialOffset = lower.initialOffset
        from = limit
    }
}
