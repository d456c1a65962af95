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
            let needsHistory = schedule.count != nil || schedule.cycle != nil
            if needsHistory, let origin {
                state = .calendar(cursor: origin - 1, ordinal: 0, inCourse: 0, courseNotBefore: origin)
            } else {
                state = .calendar(cursor: Swift.max(after, (firstAllowed ?? after) - 1), ordinal: 0, inCourse: 0, courseNotBefore: .min)
            }
        case .interval(let every, let first):
            expressionZones = []
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
