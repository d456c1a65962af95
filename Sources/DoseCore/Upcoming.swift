/// A dose the schedule makes due: which medication and schedule, and when.
public struct DueDose: Sendable, Equatable, Hashable {
    public var medication: String
    public var schedule: String
    /// The due instant.
    public var due: Micros

    public init(medication: String, schedule: String, due: Micros) {
        self.medication = medication
        self.schedule = schedule
        self.due = due
    }

    /// `interferon/evening@2026-11-30T20:00:00Z`, the same everywhere (SPEC 4).
    public var id: String { DoseID.make(medication: medication, schedule: schedule, due: due) }
}

/// Dose ids: `<medication>/<schedule>@<due, RFC 3339 UTC>` (SPEC 4).
public enum DoseID {
    /// The schedule name of unscheduled takes.
    public static let extra = "extra"
    /// The schedule name of takes of a medication's `[as_needed]` (SPEC 10).
    public static let asNeeded = "as-needed"

    /// Whether a schedule name is that of takes outside every schedule (unscheduled or as
    /// needed): never reminded, never counted in adherence.
    public static func isUnscheduled(_ schedule: String) -> Bool {
        schedule == extra || schedule == asNeeded
    }

    public static func make(medication: String, schedule: String, due: Micros) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(medication.utf8.count + schedule.utf8.count + 32)
        append(DueDose(medication: medication, schedule: schedule, due: due), to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `dose`'s id to `bytes` (UTF-8), its medication and schedule written by `name` (a
    /// JSON writer escapes them): the one place an id's form is spelt.
    public static func append(_ dose: DueDose, to bytes: inout [UInt8],
                              name: (String, inout [UInt8]) -> Void = { $1.append(contentsOf: $0.utf8) }) {
        name(dose.medication, &bytes)
        bytes.append(UInt8(ascii: "/"))
        name(dose.schedule, &bytes)
        bytes.append(UInt8(ascii: "@"))
        RFC3339.append(utc: dose.due, to: &bytes)
    }

    /// The parts of a dose id, or nil when it is not one.
    public static func parse(_ id: String) -> DueDose? {
        guard let at = id.firstIndex(of: "@"), let slash = id[..<at].firstIndex(of: "/"),
              let due = RFC3339.parse(String(id[id.index(after: at)...]))
        else { return nil }
        let medication = String(id[..<slash])
        let schedule = String(id[id.index(after: slash)..<at])
        guard ConfigDecoder.isValidID(medication), ConfigDecoder.isValidID(schedule) else { return nil }
        return DueDose(medication: medication, schedule: schedule, due: due)
    }
}

/// Which schedules a listing covers: all, one medication's, or one schedule.
public struct ScheduleFilter: Sendable, Equatable {
    public var medication: String?
    public var schedule: String?

    public static let all = ScheduleFilter(medication: nil, schedule: nil)

    public init(medication: String?, schedule: String?) {
        self.medication = medication
        self.schedule = schedule
    }

    /// Reads `MED` or `MED/SCHED`.
    public init(parsing text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        self.init(medication: parts.first, schedule: parts.count > 1 ? parts[1] : nil)
    }

    public func includes(_ medication: String, _ schedule: String) -> Bool {
        includes(medication) && (self.schedule == nil || self.schedule == schedule)
    }

    /// Whether some schedule of `medication` may pass.
    public func includes(_ medication: String) -> Bool {
        self.medication == nil || self.medication == medication
    }
}

extension Configuration {
    /// The next `count` doses due strictly after `after` (and at or before `until`), across the
    /// filtered schedules, in time order (ties by medication, then schedule).
    /// - Parameter lastTaken: the last take of a schedule (`medication/schedule`), for `anchor = "taken"`.
    public func upcoming(
        after: Micros, count: Int, until: Micros = .max, filter: ScheduleFilter = .all,
        lastTaken: (String, String) -> Micros? = { _, _ in nil }
    ) -> [DueDose] {
        var streams: [(dose: DueDose, times: DueTimes)] = []
        // Read in place: copying each medication to test the filter made `check` and `list`
        // (one call per schedule) quadratic in the number of medications.
        for m in medications.indices where filter.includes(medications[m].id) {
            for s in medications[m].schedules.indices where filter.includes(medications[m].id, medications[m].schedules[s].id) {
                let schedule = medications[m].schedules[s]
                var times = DueTimes(
                    schedule: schedule, zone: zone(for: schedule), after: after,
                    lastTaken: lastTaken(medications[m].id, schedule.id))
                if let due = times.next() {
                    streams.append((DueDose(medication: medications[m].id, schedule: schedule.id, due: due), times))
                }
            }
        }
        var result: [DueDose] = []
        result.reserveCapacity(Swift.min(count, 100_000))
        while result.count < count, !streams.isEmpty {
            var best = 0
            for i in 1..<streams.count where Self.precedes(streams[i].dose, streams[best].dose) { best = i }
            guard streams[best].dose.due <= until else { break }
            result.append(streams[best].dose)
            if let due = streams[best].times.next() {
                streams[best].dose.due = due
            } else {
                streams.remove(at: best)
            }
        }
        return result
    }

    /// The first dose of one of `medication`'s schedules due after `after`: what
    /// ``upcoming(after:count:until:filter:lastTaken:)`` gives first for a filter naming that
    /// schedule, without walking the others (`check` and `list` ask it of every schedule).
    public func next(of schedule: Schedule, medication: String, after: Micros, lastTaken: Micros? = nil) -> DueDose? {
        var times = DueTimes(schedule: schedule, zone: zone(for: schedule), after: after, lastTaken: lastTaken)
        return times.next().map { DueDose(medication: medication, schedule: schedule.id, due: $0) }
    }

    /// The order of ``upcoming(after:count:until:filter:lastTaken:)``: by time, ties by
    /// medication, then schedule.
    public static func precedes(_ a: DueDose, _ b: DueDose) -> Bool {
        (a.due, a.medication, a.schedule) < (b.due, b.medication, b.schedule)
    }
}

/// The injection site to suggest: the least recently used of the medication's sites, ties in list order.
public struct SiteRotation: Sendable {
    private let sites: [String]
    private var lastUsed: [String: Micros]

    /// - Parameter lastUsed: when each site was last used (sites never used are absent).
    public init(sites: [String], lastUsed: [String: Micros] = [:]) {
        self.sites = sites
        self.lastUsed = lastUsed
    }

    /// The site to use next, or nil when the medication has no sites.
    public var suggestion: String? {
        var best: (site: String, used: Micros)?
        for site in sites {
            let used = lastUsed[site] ?? .min
            if best == nil || used < best!.used { best = (site, used) }
        }
        return best?.site
    }

    /// Records a use, so the next suggestion moves on.
    public mutating func use(_ site: String, at time: Micros) {
        lastUsed[site] = time
    }
}

extension Configuration {
    /// The site to suggest for each dose of a listing, assuming each is taken at its suggestion.
    /// - Parameter lastUsed: per medication, when each site was last used.
    public func suggestedSites(for doses: [DueDose], lastUsed: [String: [String: Micros]] = [:]) -> [String?] {
        var rotations: [String: SiteRotation] = [:]
        return doses.map { dose in
            guard let medication = medication(dose.medication), !medication.sites.isEmpty else { return nil }
            var rotation = rotations[dose.medication]
                ?? SiteRotation(sites: medication.sites, lastUsed: lastUsed[dose.medication] ?? [:])
            let site = rotation.suggestion
            if let site { rotation.use(site, at: dose.due) }
            rotations[dose.medication] = rotation
            return site
        }
    }
}

extension Configuration {
    /// How far ahead ``runsOut(_:stock:after:lastTaken:)`` looks: stock for more doses than this
    /// does not run out in any forecast worth showing, and the forecast stays cheap.
    public static let forecastDoses = 1000

    /// SPEC 10's `runs_out`: the due time of the scheduled dose that would take the last unit of
    /// `stock` on hand, one unit per upcoming dose in time order; nil without stock, without
    /// schedules, or beyond ``forecastDoses`` doses.
    public func runsOut(_ medication: String, stock: Int?, after: Micros,
                        lastTaken: (String, String) -> Micros? = { _, _ in nil }) -> Micros? {
        guard let stock, stock >= 0, stock <= Self.forecastDoses else { return nil }
        if stock == 0 { return after }
        let doses = upcoming(after: after, count: stock, filter: .init(medication: medication, schedule: nil), lastTaken: lastTaken)
        return doses.count == stock ? doses.last?.due : nil
    }
}
