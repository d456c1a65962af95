/// The reminder lifecycle of SPEC 5 as a pure state machine: dates and answers in, actions out.
///
/// The daemon calls ``advance(to:)`` whenever a deadline from ``nextDeadline()`` passes (and on
/// start, resume and clock jumps), ``answer(_:at:now:)`` for take, skip and snooze, and
/// ``amend(_:to:reason:stored:now:by:)`` and ``undo(_:stored:now:by:)`` for corrections, and
/// ``reload(_:now:)`` for a new configuration. Every change to the history comes back as actions;
/// the daemon saves them in one transaction and tells their events, each in the order its action
/// names: `.remind` before saving (a reminder never waits for the disk), `.emit` once saved (an
/// answer is told only when durable). Nothing here reads the clock.
public struct ReminderMachine: Sendable {
    /// What the daemon must do.
    public enum Action: Sendable, Equatable {
        /// Store the record (insert or replace).
        case save(DoseRecord)
        /// Append an answer or a correction to the dose's audit trail (SPEC 10).
        case log(Change)
        /// Remove a withdrawn unscheduled take from the doses (its trail stays).
        case withdraw(String)
        /// Store a medication's stock.
        case saveStock(medication: String, Stock)
        /// Tell the event (journal, subscribers, hook, desktop) before the records are saved:
        /// what ``advance(to:)`` finds due. A reminder does not wait for the disk, and a crash
        /// between telling and saving repeats it after restart, never drops it.
        case remind(Event)
        /// Tell the event once the records are saved, and not if saving failed: answers,
        /// corrections, refills and reloads are told only when durable.
        case emit(Event)

        /// The event the action tells, if any.
        public var event: Event? {
            switch self {
            case .remind(let event), .emit(let event): event
            case .save, .log, .withdraw, .saveStock: nil
            }
        }
    }

    /// Stock on hand of a medication, and whether its low-stock alert has fired.
    public struct Stock: Sendable, Equatable {
        public var value: Int
        /// The config's `stock` this value was last set from.
        public var configValue: Int?
        /// A low-stock alert was raised and no refill above `refill_at` came since.
        public var alerted: Bool

        public init(value: Int, configValue: Int?, alerted: Bool) {
            self.value = value
            self.configValue = configValue
            self.alerted = alerted
        }

        /// The stock on hand of a medication whose file says `configured`, given what the history
        /// holds (SPEC 5: the config's value is the starting value, applied again whenever it
        /// changes; refills and takes are recorded in the history).
        public static func onHand(stored: Stock?, configured: Int?) -> Int? {
            guard let stored else { return configured }
            if let configured, stored.configValue != configured { return configured }
            return stored.value
        }
    }

    /// What the daemon restores at start from the store.
    public struct Snapshot: Sendable {
        /// Records of doses due at or after `lastAlive` minus the longest window, and future ones.
        public var records: [DoseRecord]
        /// When the daemon last ran; nil on a very first start.
        public var lastAlive: Micros?
        public var stock: [String: Stock]
        /// Per medication, when each site was last used.
        public var siteUse: [String: [String: Micros]]
        /// Per schedule (`med/sched`), the last take, for `anchor = "taken"`.
        public var lastTaken: [String: Micros]
        /// Per medication, the times of its recent takes (of any kind), for `[as_needed]` limits.
        public var takes: [String: [Micros]]

        public init(records: [DoseRecord] = [], lastAlive: Micros? = nil, stock: [String: Stock] = [:],
                    siteUse: [String: [String: Micros]] = [:], lastTaken: [String: Micros] = [:],
                    takes: [String: [Micros]] = [:]) {
            self.records = records
            self.lastAlive = lastAlive
            self.stock = stock
            self.siteUse = siteUse
            self.lastTaken = lastTaken
            self.takes = takes
        }
    }

    public private(set) var config: Configuration
    /// Scheduled doses the machine knows: pending ones and recently answered ones
    /// (``remember(_:)``). Keyed by the dose itself, not its id text: a key then holds no heap
    /// block of its own (ids are made when written), so the records of doses that stay open for
    /// hours do not pin heap pages among the allocations of whatever ran meanwhile.
    public internal(set) var records = UndoableDictionary<DueDose, DoseRecord>()
    /// Doses due up to this instant (plus each schedule's longest lead) have been introduced.
    public private(set) var horizon: Micros
    public private(set) var stock: UndoableDictionary<String, Stock>
    var siteUse: UndoableDictionary<String, [String: Micros]>
    var lastTaken: UndoableDictionary<String, Micros>
    /// Recent takes of each `[as_needed]` medication (``AsNeeded/lookback`` back).
    var takes: UndoableDictionary<String, [Micros]>
    /// When answered records were last forgotten (at most once a minute).
    private var lastPrune: Micros = .min

    /// A late reminder is one that fires more than this after its time: a catch-up after
    /// downtime, suspend or a clock jump (timers themselves are late by well under a millisecond).
    public static let lateness: Micros = Civil.second

    /// - Parameters:
    ///   - now: the start time; doses due between `snapshot.lastAlive` and `now` are caught up by
    ///     the first ``advance(to:)``. On a very first start nothing is caught up.
    public init(config: Configuration, snapshot: Snapshot, now: Micros) {
        self.config = config
        for record in snapshot.records where !record.isExtra { records[record.dose] = record }
        horizon = min(snapshot.lastAlive ?? now, now)
        stock = .init(snapshot.stock)
        siteUse = .init(snapshot.siteUse)
        lastTaken = .init(snapshot.lastTaken)
        takes = .init(snapshot.takes)
    }

    // MARK: - Changes that can be taken back

    /// Starts a change (an answer, a correction, a refill) that ``endChange(keeping:)`` keeps or
    /// takes back: the daemon takes it back when its actions cannot be saved. Such a change
    /// alters records, stock, sites and takes, key by key; the machine remembers the keys it
    /// touches, not a copy of everything it holds.
    public mutating func beginChange() {
        assert(!changing, "a change is already under way")
        records.mark()
        stock.mark()
        siteUse.mark()
        lastTaken.mark()
        takes.mark()
    }

    /// Ends the change begun by ``beginChange()``: keeps it, or puts the machine back as it was.
    public mutating func endChange(keeping keep: Bool) {
        assert(changing, "no change is under way")
        records.end(keeping: keep)
        stock.end(keeping: keep)
        siteUse.end(keeping: keep)
        lastTaken.end(keeping: keep)
        takes.end(keeping: keep)
    }

    /// Whether a change is under way (between ``beginChange()`` and ``endChange(keeping:)``).
    var changing: Bool { records.isMarked }

    /// The record this machine holds of dose `id`, whichever way its time is written; nil for
    /// a text that is no dose id, and for doses it does not hold (or no longer).
    public func record(_ id: String) -> DoseRecord? {
        DoseID.parse(id).flatMap { records[$0] }
    }

    // MARK: - Time

    /// Everything that falls due up to `now`: catch-up, pre-reminders, reminders, repeats,
    /// escalations, misses. Call it with a `now` earlier than the last to no effect.
    public mutating func advance(to now: Micros) -> [Action] {
        var actions: [Action] = []
        introduce(through: now, into: &actions)
        // Only pending doses with something due now (`nextTime`, which `step` acts on exactly)
        // need a step: the work per tick follows what is due, not how many doses are open or
        // answered (stepping every one of 600 open doses made each reminder late). Keys only:
        // copying the records to sort them made reminders late too. Ties in due time go in
        // the order `upcoming` lists them.
        var pending: [DueDose] = []
        for (dose, record) in records where record.state == .pending {
            guard let next = attention(record), next <= now else { continue }
            pending.append(dose)
        }
        pending.sort(by: Configuration.precedes)
        for dose in pending {
            step(dose, now: now, into: &actions)
        }
        horizon = max(horizon, now)
        if now >= lastPrune + Civil.minute || now < lastPrune {
            prune(now: now)
            lastPrune = now
        }
        return actions
    }

    /// What the daemon arms and shows after each step: the next deadline (``nextDeadline()``)
    /// and the next dose due after `now` (`STATUS=`, ``upcoming(after:count:filter:)``'s first).
    public struct Plan: Sendable, Equatable {
        public var deadline: Micros?
        public var next: DueDose?
    }

    /// ``Plan``, in one walk over the schedules (each re-arm would otherwise walk them twice).
    public func plan(now: Micros) -> Plan {
        var best: Micros?
        for record in records.values where record.state == .pending {
            guard let t = attention(record) else { continue }
            if best.map({ t < $0 }) ?? true { best = t }
        }
        var next: DueDose?
        for medication in config.medications {
            for schedule in medication.schedules {
                let lead = schedule.before.max() ?? 0
                var times = dueTimes(medication.id, schedule, after: min(horizon, now))
                var armed = false
                var shown = false
                while !(armed && shown), let due = times.next() {
                    if !shown, due > now {
                        shown = true
                        let dose = DueDose(medication: medication.id, schedule: schedule.id, due: due)
                        if next.map({ Configuration.precedes(dose, $0) }) ?? true { next = dose }
                    }
                    if !armed, due > horizon, records[DueDose(medication: medication.id, schedule: schedule.id, due: due)] == nil {
                        armed = true
                        if best.map({ due - lead < $0 }) ?? true { best = due - lead }
                    }
                }
            }
        }
        return Plan(deadline: best, next: next)
    }

    /// The earliest instant at which ``advance(to:)`` has something to do, or nil if never.
    public func nextDeadline() -> Micros? {
        plan(now: horizon).deadline
    }

    /// The next `count` doses due strictly after `after`, as this machine will remind them: with
    /// the last takes it knows for `anchor = "taken"` (the one place due times are decided,
    /// for the daemon and dosectl alike).
    public func upcoming(after: Micros, count: Int, filter: ScheduleFilter = .all) -> [DueDose] {
        config.upcoming(after: after, count: count, filter: filter) { lastTaken[$0 + "/" + $1] }
    }

    /// When `stock` on hand of `medication` runs out (SPEC 10), with this machine's last takes.
    public func runsOut(_ medication: String, stock: Int?, after: Micros) -> Micros? {
        config.runsOut(medication, stock: stock, after: after) { lastTaken[$0 + "/" + $1] }
    }

    /// How many doses are due now (their window open, unanswered).
    public func dueCount(at now: Micros) -> Int {
        records.values.reduce(0) { $0 + ($1.state == .pending && $1.dose.due <= now ? 1 : 0) }
    }

    /// Doses due now (their window open, unanswered), earliest first.
    public func due(at now: Micros) -> [DoseRecord] {
        records.values.filter { $0.state == .pending && $0.dose.due <= now }.sorted { $0.dose.due < $1.dose.due }
    }

    private func dueTimes(_ medication: String, _ schedule: Schedule, after: Micros) -> DueTimes {
        DueTimes(schedule: schedule, zone: config.zone(for: schedule), after: after,
                 lastTaken: lastTaken[medication + "/" + schedule.id])
    }

    /// The record's schedule, found in place (``Configuration/position(of:)``).
    func schedule(of record: DoseRecord) -> Schedule? {
        guard let (m, s) = config.position(of: record.dose), let s else { return nil }
        return config.medications[m].schedules[s]
    }

    /// Adds records for doses whose first event (pre-reminder or reminder) is at or before `now`.
    private mutating func introduce(through now: Micros, into actions: inout [Action]) {
        for medication in config.medications {
            for schedule in medication.schedules {
                let lead = schedule.before.max() ?? 0
                var times = dueTimes(medication.id, schedule, after: horizon)
                while let due = times.next(), due - lead <= now {
                    let dose = DueDose(medication: medication.id, schedule: schedule.id, due: due)
                    guard records[dose] == nil else { continue }
                    var record = DoseRecord(dose: dose)
                    record.closes = due + schedule.window
                    // Pre-reminders whose time passed before the dose was seen are not sent late.
                    let leads = schedule.before.sorted(by: >)
                    while record.preReminders < leads.count, due - leads[record.preReminders] < horizon {
                        record.preReminders += 1
                    }
                    records[dose] = record
                }
            }
        }
    }

    /// The next instant at which pending `record` needs attention; nil when its schedule is gone
    /// (nothing more happens to it).
    private func attention(_ record: DoseRecord) -> Micros? {
        schedule(of: record).map { nextTime(record, $0) }
    }

    /// The next instant at which `record` needs attention.
    private func nextTime(_ record: DoseRecord, _ schedule: Schedule) -> Micros {
        let due = record.dose.due
        var next = due + schedule.window
        let leads = schedule.before.sorted(by: >)
        if record.preReminders < leads.count { next = min(next, due - leads[record.preReminders]) }
        if record.reminders == 0 {
            next = min(next, due)
        } else if let until = record.snoozedUntil {
            next = min(next, until)
        } else if schedule.repeatEvery > 0, let last = record.lastReminder {
            next = min(next, last + schedule.repeatEvery)
        }
        if !record.escalated, schedule.escalate < schedule.window { next = min(next, due + schedule.escalate) }
        return next
    }

    private mutating func step(_ dose: DueDose, now: Micros, into actions: inout [Action]) {
        guard var record = records[dose], record.state == .pending, let schedule = schedule(of: record) else { return }
        let before = record
        let due = record.dose.due
        var events: [Event] = []
        var missed: Change?
        if now >= due + schedule.window {
            record.state = .missed
            record.answeredAt = due + schedule.window
            record.snoozedUntil = nil
            events.append(.missed(record))
            missed = Change(answer: record, recorded: now, origin: .daemon)
        } else {
            let leads = schedule.before.sorted(by: >)
            var preDue = false
            while record.preReminders < leads.count, due - leads[record.preReminders] <= now {
                record.preReminders += 1
                preDue = true
            }
            if preDue && now < due {
                events.append(.preReminder(record))
            }
            if now >= due {
                if !record.escalated, schedule.escalate < schedule.window, now >= due + schedule.escalate {
                    record.escalated = true
                    events.append(.escalated(record))
                }
                var fire = false
                if record.reminders == 0 {
                    fire = true
                    record.late = now - due > Self.lateness
                } else if let until = record.snoozedUntil {
                    fire = now >= until
                } else if schedule.repeatEvery > 0, let last = record.lastReminder {
                    fire = now >= last + schedule.repeatEvery
                }
                if fire {
                    let first = record.reminders == 0
                    record.reminders += 1
                    record.lastReminder = now
                    record.snoozedUntil = nil
                    record.site = suggestedSite(record.dose.medication)
                    events.append(.reminder(record, first: first, late: record.late, warning: record.escalated))
                }
            }
        }
        guard record != before else { return }
        records[dose] = record
        actions.append(.save(record))
        if let missed { actions.append(.log(missed)) }
        actions += events.map { .remind($0) }
    }

    /// Forgets answered doses whose window has long closed (the store keeps them), and takes
    /// too old to count for an `[as_needed]` limit.
    private mutating func prune(now: Micros) {
        for (medication, times) in takes {
            guard let rule = config.medication(medication)?.asNeeded else {
                takes[medication] = nil
                continue
            }
            takes[medication] = times.filter { $0 > now - rule.lookback }
        }
        let longest = config.longestWindow
        records.removeAll { _, record in
            record.state != .pending && record.dose.due + longest + Civil.day <= now
        }
    }

    // MARK: - Sites and stock

    /// The least recently used site of the medication (ties: list order).
    public func suggestedSite(_ medication: String) -> String? {
        guard let sites = config.medication(medication)?.sites else { return nil }
        return SiteRotation(sites: sites, lastUsed: siteUse[medication] ?? [:]).suggestion
    }

    /// Applies the config's `stock` where it changed (SPEC 5: the config's value is the starting
    /// value, applied again whenever it changes).
    private mutating func applyConfigStock(into actions: inout [Action]) {
        for medication in config.medications {
            guard let configured = medication.stock else { continue }
            if let current = stock[medication.id], current.configValue == configured { continue }
            let alerted = medication.refillAt.map { configured <= $0 } ?? false
            let value = Stock(value: configured, configValue: configured, alerted: alerted && (stock[medication.id]?.alerted ?? false))
            stock[medication.id] = value
            actions.append(.saveStock(medication: medication.id, value))
        }
    }

    /// Sets (`add == false`) or adds to the stock on hand: a refill recorded by `dosectl stock`.
    /// `amount` is checked first: `set` takes 0 to ``Limits/stock``, `add` 1 to it, and the stock
    /// after an `add` must stay within it.
    public mutating func refill(_ medication: String, amount: Int, add: Bool, now: Micros) -> Result<[Action], AnswerError> {
        let range = add ? 1...Limits.stock : 0...Limits.stock
        guard range.contains(amount) else {
            return .failure(AnswerError(code: .invalid, message: Limits.message(add ? "'add'" : "'set'", range, amount)))
        }
        var current = stock[medication] ?? Stock(value: 0, configValue: config.medication(medication)?.stock, alerted: false)
        if add {
            // Both are within ±Limits.stock (takes count down by one at a time), so no overflow.
            guard current.value <= Limits.stock - amount else {
                return .failure(AnswerError(code: .invalid, message:
                    "adding \(amount) to \(current.value) on hand would pass \(Limits.stock), the most stock dosed keeps"))
            }
            current.value += amount
        } else {
            current.value = amount
        }
        var actions: [Action] = []
        adjusted(medication, &current, now: now, into: &actions)
        return .success(actions)
    }

    /// Saves a changed stock and raises or re-arms its low-stock alert.
    mutating func adjusted(_ medication: String, _ current: inout Stock, now: Micros, into actions: inout [Action]) {
        var event: Event?
        if let low = isLow(medication, current.value, now: now) {
            if low, !current.alerted {
                current.alerted = true
                event = .lowStock(medication: medication, stock: current.value)
            } else if !low {
                current.alerted = false
            }
        }
        stock[medication] = current
        actions.append(.saveStock(medication: medication, current))
        if let event { actions.append(.emit(event)) }
    }

    /// Whether a take of `medication` as needed is allowed at `now`; nil without `[as_needed]`.
    public func availability(_ medication: String, now: Micros) -> AsNeeded.Availability? {
        config.medication(medication)?.asNeeded?.availability(takes: takes[medication] ?? [], now: now)
    }

    /// Whether `value` on hand is low (SPEC 5 and 10): at or below `refill_at`, or running out
    /// (``runsOut(_:stock:after:)``) within `refill_days`. Nil when neither is set.
    public func isLow(_ medication: String, _ value: Int, now: Micros) -> Bool? {
        guard let file = config.medication(medication), file.refillAt != nil || file.refillDays != nil else { return nil }
        if let refillAt = file.refillAt, value <= refillAt { return true }
        if let days = file.refillDays, let out = runsOut(medication, stock: value, after: now) {
            // days ≤ Limits.refillDays, so the span cannot overflow.
            return out <= now + Micros(days) * Civil.day
        }
        return false
    }

    // MARK: - Answers

    /// What a person answers.
    public enum Answer: Sendable, Equatable {
        case take(at: Micros?, site: String?, note: String?)
        case skip(reason: String?)
        case snooze(Micros)
        /// Withheld by the care team (SPEC 10).
        case hold(reason: String?)
    }

    /// Which dose an answer is for.
    public enum Target: Sendable, Equatable {
        /// A dose id.
        case dose(String)
        /// The medication's dose due now (or the earliest unanswered in its window).
        case medication(String)
    }

    /// Why an answer was refused.
    public struct AnswerError: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Code: Sendable, Equatable {
            /// No such dose or medication (JSON-RPC -32002).
            case notFound
            /// The answer does not fit the dose (JSON-RPC -32602).
            case invalid
            /// An as-needed take the limits refuse (JSON-RPC -32004); `availability` says more.
            case limitReached
            /// Not allowed now, e.g. reopening a dose whose window closed (JSON-RPC -32005).
            case notAllowed
        }
        public var code: Code
        public var message: String
        public var availability: AsNeeded.Availability?
        /// The medication whose limit refused a take.
        public var medication: String? = nil
        public var description: String { message }
    }

    /// Answers a dose: take, skip, snooze or hold (SPEC 5, 6 and 10). The returned record is the dose as
    /// answered; its `.save` action comes first, so the answer is durable before it is told.
    /// Answers that change the dose's state are appended to its audit trail as given `by`.
    /// - Parameter force: records an as-needed take the limits refuse, with a `limit-exceeded` event.
    public mutating func answer(_ answer: Answer, for target: Target, now: Micros, force: Bool = false,
                                by origin: Origin) -> Result<(DoseRecord, [Action]), AnswerError> {
        var record: DoseRecord
        // A hold may be for any dose to come: the care team withholds tomorrow's.
        var isHold = false
        if case .hold = answer { isHold = true }
        switch find(target, now: now, allowEarly: true, allowFuture: isHold) {
        case .failure(let error):
            guard case .take(let at, let site, let note) = answer, case .medication(let medication) = target,
                  error.code == .notFound, config.medication(medication) != nil
            else { return .failure(error) }
            // Nothing due or early: an unscheduled dose, or one taken as needed within its limits.
            let taken = at ?? now
            guard let file = config.medication(medication), let rule = file.asNeeded else {
                record = DoseRecord(dose: DueDose(medication: medication, schedule: DoseID.extra, due: taken))
                return .success(take(&record, at: taken, site: site, note: note, now: now, by: origin))
            }
            let availability = rule.availability(takes: takes[medication] ?? [], now: taken)
            if !availability.isAllowed && !force {
                return .failure(AnswerError(code: .limitReached, message: rule.refusal(file.name, availability, zone: config.zone, now: taken),
                                            availability: availability, medication: medication))
            }
            record = DoseRecord(dose: DueDose(medication: medication, schedule: DoseID.asNeeded, due: taken))
            let (recorded, made) = take(&record, at: taken, site: site, note: note, now: now, by: origin)
            var actions = made
            if !availability.isAllowed {
                actions.append(.emit(.limitExceeded(recorded, refusal: rule.refusal(file.name, availability, zone: config.zone, now: taken))))
            }
            return .success((recorded, actions))
        case .success(let found):
            record = found
        }
        switch answer {
        case .take(let at, let site, let note):
            guard !record.isAnswered else { return .failure(alreadyAnswered(record)) }
            return .success(take(&record, at: at ?? now, site: site, note: note, now: now, by: origin))
        case .skip(let reason), .hold(let reason):
            guard !record.isAnswered else { return .failure(alreadyAnswered(record)) }
            record.state = isHold ? .held : .skipped
            record.answeredAt = now
            record.reason = reason
            record.snoozedUntil = nil
            records[record.dose] = record
            let change = Change(answer: record, recorded: now, origin: origin)
            return .success((record, [.save(record), .log(change), .emit(isHold ? .held(record) : .skipped(record))]))
        case .snooze(let span):
            guard record.state == .pending, record.dose.due <= now, let schedule = schedule(of: record) else {
                return .failure(AnswerError(code: .invalid, message: "\(record.id) is not due, so it cannot be snoozed"))
            }
            guard span > 0 else { return .failure(AnswerError(code: .invalid, message: "a snooze must be longer than zero")) }
            guard let until = Self.snoozeEnd(now: now, span: span, closes: record.dose.due + schedule.window, window: schedule.window) else {
                return .failure(AnswerError(code: .invalid, message:
                    "\(record.id) cannot be snoozed: its window closes at \(RFC3339.utc(record.dose.due + schedule.window))"))
            }
            record.snoozedUntil = until
            if record.reminders == 0 { record.reminders = 1; record.lastReminder = now }
            records[record.dose] = record
            return .success((record, [.save(record), .emit(.snoozed(record))]))
        }
    }

    /// When a snooze of `span` from `now` ends (SPEC 5): never past the window; a longer one ends
    /// one minute before the window closes, or half the window before it for windows under two
    /// minutes. Nil when that point has passed already (too late to snooze).
    public static func snoozeEnd(now: Micros, span: Micros, closes: Micros, window: Micros) -> Micros? {
        let margin = window < 2 * Civil.minute ? window / 2 : Civil.minute
        let latest = closes - margin
        guard latest > now else { return nil }
        return span >= latest - now ? latest : now + span
    }

    private func alreadyAnswered(_ record: DoseRecord) -> AnswerError {
        AnswerError(code: .invalid, message: "\(record.id) was already \(record.state.rawValue)")
    }

    private mutating func take(_ record: inout DoseRecord, at: Micros, site: String?, note: String?, now: Micros,
                               by origin: Origin) -> (DoseRecord, [Action]) {
        let medication = record.dose.medication
        record.state = .taken
        record.answeredAt = at
        record.site = site ?? record.site ?? suggestedSite(medication)
        record.note = note ?? record.note
        // The reason of a dose is that of its latest record: a take has none.
        record.reason = nil
        record.snoozedUntil = nil
        remember(record)
        recount(record.dose, removing: nil, adding: at, site: record.site)
        var actions: [Action] = [.save(record), .log(Change(answer: record, recorded: now, origin: origin))]
        if var current = stock[medication] {
            current.value -= 1
            actions.append(.emit(.taken(record, stock: current.value)))
            adjusted(medication, &current, now: now, into: &actions)
        } else {
            actions.append(.emit(.taken(record, stock: nil)))
        }
        return (record, actions)
    }

    /// Keeps the record of a scheduled dose, so that its reminders neither repeat nor start over.
    /// An unscheduled or as-needed take is only saved: nothing is due of it, and what it counts
    /// for (sites, limits, stock) is kept apart. Amending or taking one back reads it from the
    /// history, as for doses the machine has forgotten.
    mutating func remember(_ record: DoseRecord) {
        guard !record.isExtra else { return }
        records[record.dose] = record
    }

    /// Keeps the site use, the takes counted for as-needed limits and the last take of each
    /// schedule up to date when a take at `adding` is recorded (or one at `removing` taken back).
    /// A take taken back may have been its schedule's last: ``restoreTakes(lastTaken:takes:)``
    /// then brings that from the history.
    mutating func recount(_ dose: DueDose, removing: Micros?, adding: Micros?, site: String?) {
        let medication = dose.medication
        if let removing, let index = takes[medication]?.lastIndex(of: removing) { takes[medication]?.remove(at: index) }
        guard let at = adding else { return }
        if let site { siteUse[medication, default: [:]][site] = Swift.max(siteUse[medication]?[site] ?? at, at) }
        // Every take counts for the medication's as-needed limits.
        if config.medication(medication)?.asNeeded != nil {
            takes[medication, default: []].append(at)
            takes[medication]?.sort()
        }
        if !DoseID.isUnscheduled(dose.schedule) {
            let key = medication + "/" + dose.schedule
            lastTaken[key] = Swift.max(lastTaken[key] ?? at, at)
        }
    }

    /// The dose an answer means: by id (a dose due, past or within its window ahead), or by
    /// medication (the earliest due and unanswered, else the next one within its window ahead).
    /// With `allowFuture` (a hold), also any dose to come: by id, or the medication's next one.
    public func find(_ target: Target, now: Micros, allowEarly: Bool, allowFuture: Bool = false) -> Result<DoseRecord, AnswerError> {
        switch target {
        case .dose(let id):
            guard let dose = DoseID.parse(id) else {
                return .failure(AnswerError(code: .notFound, message: "no dose \(id)"))
            }
            if let record = records[dose] { return .success(record) }
            guard let medication = config.medication(dose.medication) else {
                return .failure(AnswerError(code: .notFound, message: "no dose \(id)"))
            }
            if DoseID.isUnscheduled(dose.schedule) {
                return .failure(AnswerError(code: .notFound, message:
                    "no dose \(id) is due: a take outside the schedule is answered once; amend or undo it instead"))
            }
            guard let schedule = medication.schedule(dose.schedule) else {
                return .failure(AnswerError(code: .notFound, message: "\(dose.medication) has no schedule \(dose.schedule)"))
            }
            var times = dueTimes(dose.medication, schedule, after: dose.due - 1)
            guard times.next() == dose.due else {
                return .failure(AnswerError(code: .notFound, message: "no dose of \(dose.medication)/\(dose.schedule) is due at \(RFC3339.utc(dose.due))"))
            }
            guard dose.due - schedule.window <= now || allowFuture else {
                return .failure(AnswerError(code: .invalid, message: "\(id) is not due until \(RFC3339.utc(dose.due)); it can be answered from \(RFC3339.utc(dose.due - schedule.window))"))
            }
            // A dose from before the daemon's records (e.g. written while it was stopped).
            var record = DoseRecord(dose: dose)
            record.closes = dose.due + schedule.window
            if dose.due + schedule.window <= now { record.state = .missed }
            return .success(record)
        case .medication(let id):
            guard let medication = config.medication(id) else {
                return .failure(AnswerError(code: .notFound, message: "no medication \(id)"))
            }
            // Doses whose window is open: due ones first (earliest), else the next one ahead.
            var dueNow: DoseRecord?
            var early: DoseRecord?
            for schedule in medication.schedules {
                var times = dueTimes(id, schedule, after: now - schedule.window)
                while let due = times.next(), due - schedule.window <= now {
                    let dose = DueDose(medication: id, schedule: schedule.id, due: due)
                    var record = records[dose] ?? DoseRecord(dose: dose)
                    record.closes = due + schedule.window
                    guard record.state == .pending else { continue }
                    if due <= now {
                        if dueNow.map({ due < $0.dose.due }) ?? true { dueNow = record }
                    } else {
                        if allowEarly, early.map({ due < $0.dose.due }) ?? true { early = record }
                        break
                    }
                }
            }
            if dueNow == nil, early == nil, allowFuture,
               let next = upcoming(after: now, count: 1, filter: .init(medication: id, schedule: nil)).first,
               let schedule = medication.schedule(next.schedule) {
                var record = records[next] ?? DoseRecord(dose: next)
                record.closes = next.due + schedule.window
                return .success(record)
            }
            guard let found = dueNow ?? early else {
                return .failure(AnswerError(code: .notFound, message: "no dose of \(id) is due"))
            }
            return .success(found)
        }
    }

    // MARK: - Configuration

    /// Starts using a new configuration. Answers stay given; no reminder is repeated.
    /// - Parameter takes: the recent takes the new `[as_needed]` limits need, when they reach
    ///   further back than the machine remembers.
    public mutating func reload(_ newConfig: Configuration, now: Micros, takes: [String: [Micros]]? = nil) -> [Action] {
        assert(!changing, "a reload is not a change that can be taken back")
        config = newConfig
        if let takes { self.takes = .init(takes) }
        var actions: [Action] = []
        applyConfigStock(into: &actions)
        return actions + advance(to: now)
    }

    /// The first actions after start: stock from the config, then catch-up.
    public mutating func start(now: Micros) -> [Action] {
        reload(config, now: now)
    }
}
