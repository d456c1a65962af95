import Foundation

/// The due times of one schedule after a given instant, in order (SPEC 3 and 4).
///
/// Pure: the zone, the instant to start from and (for `anchor = "taken"`) the last take are inputs.
/// `every` schedules are placed arithmetically; `on` schedules walk their calendar, from `start`
/// when `count` or a dose-counted `cycle` needs to know how many doses came before.
public struct DueTimes: IteratorProtocol, Sequence, Sendable {
    private let schedule: Schedule
    /// The zone of the schedule's wall times (bounds, `first`, expressions without their own zone).
    private let zone: ZoneRules
    private let expressionZones: [ZoneRules]
    private let firstAllowed: Micros?
    private let lastAllowed: Micros?
    private let dueFrom: Micros?
    private let origin: Micros?
    /// Doses strictly after this are wanted.
    private let after: Micros
    private var state: State
    /// For calendar schedules counted from `start`: where their checkpoints are kept.
    private let courseKey: String?
    /// Calendar matches stepped through by this iterator, against ``stepBudget``.
    private var steps = 0
    /// Whether the iterator stopped because counting from `start` needed more than
    /// ``stepBudget`` matches (the config check refuses such a schedule).
    public private(set) var exhausted = false

    /// The most calendar matches one iterator steps through to count doses from `start`: about
    /// 0.1 s of work. Checkpoints make later iterators of the same schedule start near `after`.
    public static let stepBudget = 500_000

    private enum State: Sendable {
        /// Interval doses: the next is course `course`, dose `index` in it.
        case interval(course: Int64, index: Int64)
        /// Calendar doses: raw matches after `cursor`; `ordinal` doses so far; course bookkeeping.
        case calendar(cursor: Micros, ordinal: Int, inCourse: Int, courseNotBefore: Micros)
        case finished
    }

    /// The doses of `schedule` due strictly after `after`.
    /// - Parameters:
    ///   - zone: the schedule's zone (its `timezone`, else `dosed.toml`'s, else the system's).
    ///   - lastTaken: when the last dose of this schedule was taken, for `anchor = "taken"`.
    public init(schedule: Schedule, zone: ZoneRules, after: Micros, lastTaken: Micros? = nil) {
        self.schedule = schedule
        self.zone = zone
        self.after = after
        firstAllowed = schedule.start?.instant(in: zone)
        lastAllowed = schedule.end?.lastInstant(in: zone)
        dueFrom = schedule.pausedUntil?.instant(in: zone)
        switch schedule.timing {
        case .calendar(let expressions):
            expressionZones = expressions.map { $0.zoneIdentifier.flatMap(ZoneRules.named) ?? zone }
            origin = firstAllowed
            // Only `count` and `cycle = { doses }` need to know how many doses came before;
            // `cycle = { on, off }` periods are found arithmetically from `start`.
            var needsHistory = schedule.count != nil
            if case .doses? = schedule.cycle { needsHistory = true }
            if needsHistory, let origin {
                let key = String(reflecting: schedule) + " in " + zone.identifier
                courseKey = key
                if let checkpoint = CourseCheckpoints.shared.latest(key, atOrBefore: after) {
                    state = .calendar(cursor: checkpoint.cursor, ordinal: checkpoint.ordinal,
                                      inCourse: checkpoint.inCourse, courseNotBefore: checkpoint.courseNotBefore)
                } else {
                    state = .calendar(cursor: origin - 1, ordinal: 0, inCourse: 0, courseNotBefore: origin)
                }
            } else {
                courseKey = nil
                state = .calendar(cursor: Swift.max(after, (firstAllowed ?? after) - 1), ordinal: 0, inCourse: 0, courseNotBefore: .min)
            }
        case .interval(let every, let first):
            expressionZones = []
            courseKey = nil
            var start = first.instant(in: zone)
            if schedule.anchor == .taken, let lastTaken, lastTaken + every > start { start = lastTaken + every }
            origin = start
            state = .interval(course: 0, index: 0)
            seekInterval(every: every, origin: start, after: Swift.max(after, (firstAllowed ?? after) - 1))
        }
        if schedule.paused { state = .finished }
    }

    /// The next due instant, or nil when the schedule has no more doses.
    public mutating func next() -> Micros? {
        while let due = nextRaw() {
            if let lastAllowed, due > lastAllowed { state = .finished; return nil }
            if due <= after { continue }
            if let firstAllowed, due < firstAllowed { continue }
            if let dueFrom, due < dueFrom { continue }
            return due
        }
        return nil
    }

    // MARK: - Interval schedules

    /// Course length and doses per course of an interval schedule.
    private func courses(every: Micros) -> (length: Micros, doses: Int64) {
        switch schedule.cycle {
        case .doses(let n, let off): (Micros(n - 1) * every + off, Int64(n))
        case .periods(let on, let off): (on + off, (on + every - 1) / every)
        case nil: (Micros.max, Int64.max)
        }
    }

    private mutating func seekInterval(every: Micros, origin: Micros, after: Micros) {
        guard after >= origin else { return }
        let (elapsed, overflow) = after.subtractingReportingOverflow(origin)
        guard !overflow else { state = .finished; return }
        let (length, doses) = courses(every: every)
        var course = length == .max ? 0 : elapsed / length
        var index = (elapsed - course * (length == .max ? 0 : length)) / every + 1
        if index >= doses { course += 1; index = 0 }
        state = .interval(course: course, index: index)
    }

    private mutating func nextRaw() -> Micros? {
        switch state {
        case .finished:
            return nil
        case .interval(let course, let index):
            guard case .interval(let every, _) = schedule.timing, let origin else { return nil }
            let (length, doses) = courses(every: every)
            let ordinal = doses == .max ? index : course * doses + index
            if let count = schedule.count, ordinal >= count { state = .finished; return nil }
            // Checked: a due time past the end of time ends the schedule instead of trapping.
            let (courseStart, overflowA) = (length == .max ? 0 : length).multipliedReportingOverflow(by: course)
            let (offset, overflowB) = every.multipliedReportingOverflow(by: index)
            let (sum, overflowC) = origin.addingReportingOverflow(courseStart)
            let (due, overflowD) = sum.addingReportingOverflow(offset)
            guard !overflowA, !overflowB, !overflowC, !overflowD else { state = .finished; return nil }
            state = index + 1 >= doses ? .interval(course: course + 1, index: 0) : .interval(course: course, index: index + 1)
            return due
        case .calendar(let cursor, let ordinal, let inCourse, let courseNotBefore):
            if let count = schedule.count, ordinal >= count { state = .finished; return nil }
            var from = courseNotBefore > cursor ? courseNotBefore - 1 : cursor
            while true {
                if courseKey != nil {
                    steps += 1
                    if steps > Self.stepBudget { exhausted = true; state = .finished; return nil }
                }
                guard let due = nextMatch(after: from) else { state = .finished; return nil }
                if case .periods(let on, let off)? = schedule.cycle, let origin {
                    let period = on + off
                    let phase = (due - origin) % period
                    if phase >= on {
                        from = due - phase + period - 1
                        continue
                    }
                }
                var course = inCourse + 1
                var notBefore = courseNotBefore
                if case .doses(let n, let off)? = schedule.cycle, course >= n {
                    course = 0
                    notBefore = due + off
                }
                state = .calendar(cursor: due, ordinal: ordinal + 1, inCourse: course, courseNotBefore: notBefore)
                if let courseKey, (ordinal + 1) % CourseCheckpoints.spacing == 0 {
                    CourseCheckpoints.shared.record(courseKey, .init(cursor: due, ordinal: ordinal + 1,
                                                                      inCourse: course, courseNotBefore: notBefore))
                }
                return due
            }
        }
    }

    /// The earliest instant after `instant` matched by any of the schedule's expressions.
    private func nextMatch(after instant: Micros) -> Micros? {
        guard case .calendar(let expressions) = schedule.timing else { return nil }
        var best: Micros?
        for (expression, zone) in zip(expressions, expressionZones) {
            if let due = expression.next(after: instant, in: zone), best.map({ due < $0 }) ?? true { best = due }
        }
        return best
    }
}

/// Checkpoints of calendar schedules counted from `start` (`count`, `cycle = { doses }`): the
/// iterator's state every ``spacing`` doses, so a later iterator of the same schedule resumes
/// near where it is asked to start instead of stepping from `start` again. A memo of a pure
/// function (the same schedule and zone give the same doses), shared by every iterator.
final class CourseCheckpoints: @unchecked Sendable {
    struct Checkpoint: Sendable {
        var cursor: Micros
        var ordinal: Int
        var inCourse: Int
        var courseNotBefore: Micros
    }

    static let shared = CourseCheckpoints()
    static let spacing = 512
    /// Schedules remembered at most (each a few KB): a bound whatever reloads bring.
    static let schedules = 256

    private let lock = NSLock()
    private var checkpoints: [String: [Checkpoint]] = [:]

    /// The latest checkpoint whose dose is strictly before `instant`.
    func latest(_ key: String, atOrBefore instant: Micros) -> Checkpoint? {
        lock.lock()
        defer { lock.unlock() }
        guard let list = checkpoints[key] else { return nil }
        var low = 0, high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle].cursor < instant { low = middle + 1 } else { high = middle }
        }
        return low > 0 ? list[low - 1] : nil
    }

    func record(_ key: String, _ checkpoint: Checkpoint) {
        lock.lock()
        defer { lock.unlock() }
        if checkpoints[key] == nil, checkpoints.count >= Self.schedules { checkpoints.removeAll() }
        var list = checkpoints[key] ?? []
        // Checkpoints come in dose order; one already known is not added twice.
        if let last = list.last, last.ordinal >= checkpoint.ordinal {
            if !list.contains(where: { $0.ordinal == checkpoint.ordinal }) {
                list.append(checkpoint)
                list.sort { $0.ordinal < $1.ordinal }
            }
        } else {
            list.append(checkpoint)
        }
        checkpoints[key] = list
    }
}
