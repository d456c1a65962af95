/// A diary entry: how a dose went, side effects (SPEC 8 `note`).
public struct Note: Sendable, Equatable {
    public var at: Micros
    public var text: String
    /// The dose it is about, if any.
    public var dose: String?
    /// E.g. fever, nausea, injection-site reaction.
    public var symptom: String?
    /// 1 (mild) to 5 (severe).
    public var severity: Int?

    public init(at: Micros, text: String, dose: String? = nil, symptom: String? = nil, severity: Int? = nil) {
        self.at = at
        self.text = text
        self.dose = dose
        self.symptom = symptom
        self.severity = severity
    }
}

/// Adherence counts over a period (SPEC 8): doses due in it that are answered or whose window has
/// closed are `counted`; taken within the window is `on_time`, after it `late`; skipped and missed
/// count against both rates. Held doses (withheld by the care team, SPEC 10) are reported beside
/// and never counted.
public struct Tally: Sendable, Equatable {
    public var counted = 0
    public var onTime = 0
    public var late = 0
    public var skipped = 0
    public var missed = 0
    public var held = 0

    public init(counted: Int = 0, onTime: Int = 0, late: Int = 0, skipped: Int = 0, missed: Int = 0, held: Int = 0) {
        self.counted = counted
        self.onTime = onTime
        self.late = late
        self.skipped = skipped
        self.missed = missed
        self.held = held
    }

    public var taken: Int { onTime + late }
    /// taken / counted, or nil when nothing is counted.
    public var adherence: Double? { counted == 0 ? nil : Double(taken) / Double(counted) }
    /// on_time / counted, or nil when nothing is counted.
    public var onTimeRate: Double? { counted == 0 ? nil : Double(onTime) / Double(counted) }

    public static func + (a: Tally, b: Tally) -> Tally {
        Tally(counted: a.counted + b.counted, onTime: a.onTime + b.onTime, late: a.late + b.late,
              skipped: a.skipped + b.skipped, missed: a.missed + b.missed, held: a.held + b.held)
    }

    /// How one dose counts at `now`.
    public enum Outcome: Sendable, Equatable {
        case onTime, late, skipped, missed
        /// Withheld by the care team: reported, not counted.
        case held
        /// Its window is open and it is unanswered: not counted yet.
        case open
    }

    /// The outcome of a scheduled dose at `now` (nil for unscheduled takes, which never count).
    public static func outcome(_ record: DoseRecord, now: Micros) -> Outcome? {
        guard !record.isExtra else { return nil }
        let closes = record.closes ?? record.dose.due
        switch record.state {
        case .taken: return (record.answeredAt ?? .max) <= closes ? .onTime : .late
        case .skipped: return .skipped
        case .missed: return .missed
        case .held: return .held
        case .pending: return closes <= now ? .missed : .open
        }
    }

    /// Adds one dose.
    public mutating func add(_ outcome: Outcome?) {
        guard let outcome, outcome != .open else { return }
        if outcome == .held {
            held += 1
            return
        }
        counted += 1
        switch outcome {
        case .onTime: onTime += 1
        case .late: late += 1
        case .skipped: skipped += 1
        case .missed: missed += 1
        case .open, .held: break
        }
    }
}

extension Configuration {
    /// When a schedule's doses start to count: its `start`, else when dosed or dosectl first saw it.
    public func countingStart(_ medication: String, _ schedule: Schedule, firstSeen: [String: Micros]) -> Micros? {
        schedule.start?.instant(in: zone(for: schedule)) ?? firstSeen[medication + "/" + schedule.id]
    }

    /// The scheduled doses due in `[since, until)` (paused ones excluded), each as its stored record
    /// or, when none is stored, a fresh one (pending, or missed once its window has closed).
    /// Doses before a schedule's counting start are left out.
    public func dueRecords(
        since: Micros, until: Micros, now: Micros, medication: String? = nil,
        stored: [DueDose: DoseRecord], firstSeen: [String: Micros], lastTaken: [String: Micros] = [:]
    ) -> [DoseRecord] {
        var result: [DoseRecord] = []
        for med in medications where medication == nil || med.id == medication {
            for schedule in med.schedules {
                guard let counting = countingStart(med.id, schedule, firstSeen: firstSeen) else { continue }
                let from = Swift.max(since, counting)
                guard from < until else { continue }
                var times = DueTimes(schedule: schedule, zone: zone(for: schedule), after: from - 1,
                                     lastTaken: lastTaken[med.id + "/" + schedule.id])
                while let due = times.next(), due < until {
                    let dose = DueDose(medication: med.id, schedule: schedule.id, due: due)
                    if var record = stored[dose] {
                        if record.closes == nil { record.closes = due + schedule.window }
                        result.append(record)
                    } else {
                        var record = DoseRecord(dose: dose)
                        record.closes = due + schedule.window
                        if due + schedule.window <= now {
                            record.state = .missed
                            record.answeredAt = due + schedule.window
                        }
                        result.append(record)
                    }
                }
            }
        }
        return result
    }
}
