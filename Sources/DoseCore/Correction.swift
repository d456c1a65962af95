import Foundation

/// Who gave an answer or a correction, and through what (SPEC 10).
public struct Origin: Sendable, Equatable {
    /// The channels an answer comes through.
    public enum Channel: String, Sendable, Equatable, CaseIterable {
        case cli, socket, notification, daemon
    }

    /// The uid that asked; nil for the daemon's own records (the store writes the daemon's uid).
    public var uid: UInt32?
    public var channel: Channel

    public init(uid: UInt32?, channel: Channel) {
        self.uid = uid
        self.channel = channel
    }

    /// The daemon itself: a dose found missed.
    public static let daemon = Origin(uid: nil, channel: .daemon)
}

/// One record of a dose's audit trail (SPEC 10): an answer (take, skip, hold, missed) or a
/// correction (`amend`, `undo`). The trail is append-only; a dose's state is its latest record.
public struct Change: Sendable, Equatable {
    /// What the record made of the dose.
    public enum State: String, Sendable, Equatable, CaseIterable {
        case taken, skipped, missed, held
        /// Reopened: due again if its window is open.
        case open
        /// An unscheduled or as-needed take taken back (it did not happen).
        case withdrawn
    }

    public var dose: DueDose
    public var state: State
    /// When it was taken (for `taken`).
    public var at: Micros?
    public var site: String?
    /// When the record was made.
    public var recorded: Micros
    /// Who made it; nil for an answer recorded before the trail existed (history version 5).
    public var origin: Origin?
    public var reason: String?
    /// A correction (`amend`, `undo`) rather than an answer.
    public var isCorrection: Bool

    public init(dose: DueDose, state: State, at: Micros? = nil, site: String? = nil, recorded: Micros, origin: Origin?,
                reason: String? = nil, isCorrection: Bool = false) {
        self.dose = dose
        self.state = state
        self.at = at
        self.site = site
        self.recorded = recorded
        self.origin = origin
        self.reason = reason
        self.isCorrection = isCorrection
    }

    /// The answer record of `record` as it now stands (taken, skipped, missed or held; `open` when pending).
    public init(answer record: DoseRecord, recorded: Micros, origin: Origin, isCorrection: Bool = false) {
        let state: State
        switch record.state {
        case .pending: state = .open
        case .taken: state = .taken
        case .skipped: state = .skipped
        case .missed: state = .missed
        case .held: state = .held
        }
        self.init(dose: record.dose, state: state, at: state == .taken ? record.answeredAt : nil,
                  site: state == .taken ? record.site : nil, recorded: recorded, origin: origin,
                  reason: record.reason, isCorrection: isCorrection)
    }
}

extension ReminderMachine {
    /// What `amend` makes of a dose (SPEC 10).
    public enum Correction: Sendable, Equatable {
        /// Taken at a time (default: when it was due, or its recorded time), at a site.
        case taken(at: Micros?, site: String?)
        case skipped, missed, held
        /// Reopened: due again while its window is open; an unscheduled take is withdrawn.
        case open

        /// The `--state` names.
        public static func parse(_ text: String, at: Micros?, site: String?) -> Correction? {
            switch text {
            case "taken": .taken(at: at, site: site)
            case "skipped": .skipped
            case "missed": .missed
            case "held": .held
            case "open": .open
            default: nil
            }
        }

        public static let names = "taken, skipped, missed, held or open"
    }

    /// How long after an answer `undo` may take it back.
    public static let undoWindow = 15 * Civil.minute

    /// The longest reason a correction keeps (a reason is a sentence, not a document).
    public static let longestReason = 1000

    /// Corrects the answer of dose `id` (SPEC 10): `reason` is required; a dose reopens only
    /// while its window is open, and its reminders then resume from now; a correction to `taken`
    /// or away from it moves the stock by one. Every correction is an `amended` event.
    /// - Parameter stored: the dose's record in the history, when this machine no longer holds it.
    public mutating func amend(_ id: String, to correction: Correction, reason: String, stored: DoseRecord?,
                               now: Micros, by origin: Origin) -> Result<(DoseRecord, [Action]), AnswerError> {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else {
            return .failure(AnswerError(code: .invalid, message: "a correction needs a reason (--reason TEXT)"))
        }
        guard reason.utf8.count <= Self.longestReason else {
            return .failure(AnswerError(code: .invalid, message: "a reason holds at most \(Self.longestReason) bytes"))
        }
        let record: DoseRecord
        if let known = self.record(id) ?? stored {
            record = known
        } else {
            switch find(.dose(id), now: now, allowEarly: true) {
            case .success(let found): record = found
            case .failure(let error): return .failure(error)
            }
        }
        return correct(record, to: correction, reason: reason, now: now, by: origin)
    }

    /// Takes back `last`, the latest answer this uid gave within ``undoWindow`` (SPEC 10): the
    /// dose reopens, or an unscheduled take is withdrawn (its stock restored), with reason "undo".
    /// - Parameters:
    ///   - last: that answer, and whether it is still the dose's latest record.
    ///   - stored: the dose's record in the history.
    public mutating func undo(_ last: (answer: Change, isLatest: Bool)?, stored: DoseRecord?, now: Micros,
                              by origin: Origin) -> Result<(DoseRecord, [Action]), AnswerError> {
        guard let last else {
            return .failure(AnswerError(code: .notFound, message:
                "nothing to undo: no answer was given from uid \(origin.uid.map(String.init) ?? "?") in the last 15 minutes"))
        }
        guard last.isLatest, let record = records[last.answer.dose] ?? stored else {
            return .failure(AnswerError(code: .invalid, message:
                "nothing to undo: \(last.answer.dose.id) was corrected since it was \(last.answer.state.rawValue) (see dosectl history --audit)"))
        }
        return correct(record, to: .open, reason: "undo", now: now, by: origin)
    }

    private mutating func correct(_ old: DoseRecord, to correction: Correction, reason: String, now: Micros,
                                  by origin: Origin) -> Result<(DoseRecord, [Action]), AnswerError> {
        let id = old.id
        let medication = old.dose.medication
        var record = old
        func refuse(_ message: String, _ code: AnswerError.Code = .invalid) -> Result<(DoseRecord, [Action]), AnswerError> {
            .failure(AnswerError(code: code, message: message))
        }
        if old.isExtra, correction == .skipped || correction == .held || correction == .missed {
            return refuse("\(id) was taken outside its schedule: correct its time (--state taken --at TIME) or withdraw it (--state open)")
        }
        switch correction {
        case .taken(let at, let site):
            let when = at ?? (old.state == .taken ? old.answeredAt : nil) ?? Swift.min(old.dose.due, now)
            guard when <= now else { return refuse("a dose cannot be taken in the future (\(RFC3339.utc(when)))") }
            if old.state == .taken, old.answeredAt == when, site == nil || site == old.site {
                return refuse("\(id) is already taken at \(RFC3339.utc(when)); nothing to change")
            }
            record.state = .taken
            record.answeredAt = when
            record.site = site ?? (old.state == .taken ? old.site : nil) ?? suggestedSite(medication)
        case .skipped, .held:
            let target: DoseRecord.State = correction == .held ? .held : .skipped
            guard old.state != target else { return refuse("\(id) is already \(target.rawValue); nothing to change") }
            record.state = target
            record.answeredAt = now
        case .missed:
            guard old.state != .missed else { return refuse("\(id) is already missed; nothing to change") }
            let closes = old.closes ?? schedule(of: old).map { old.dose.due + $0.window } ?? old.dose.due
            guard closes <= now else {
                return refuse("\(id) cannot be missed yet: its window is open until \(RFC3339.utc(closes))", .notAllowed)
            }
            record.state = .missed
            record.answeredAt = closes
        case .open:
            if old.isExtra {
                return .success(withdraw(old, reason: reason, now: now, by: origin))
            }
            guard old.state != .pending else { return refuse("\(id) is not answered; there is nothing to reopen") }
            guard let schedule = schedule(of: old) else {
                return refuse("\(id) cannot be reopened: its schedule is no longer in the configuration", .notAllowed)
            }
            let closes = old.dose.due + schedule.window
            guard now < closes else {
                return refuse("\(id) cannot be reopened: its window closed at \(RFC3339.utc(closes)); correct it to another state instead",
                              .notAllowed)
            }
            // Due again: its reminders start over from now (the first one at once, if it is due).
            record.state = .pending
            record.answeredAt = nil
            record.reminders = 0
            record.lastReminder = nil
            record.snoozedUntil = nil
            record.escalated = false
            record.late = false
            record.closes = closes
        }
        record.snoozedUntil = nil
        record.reason = reason
        record.corrected = true
        remember(record)
        recount(record.dose, removing: old.state == .taken ? old.answeredAt : nil,
                adding: record.state == .taken ? record.answeredAt : nil, site: record.state == .taken ? record.site : nil)
        let change = Change(answer: record, recorded: now, origin: origin, isCorrection: true)
        let delta = (old.state == .taken ? 1 : 0) - (record.state == .taken ? 1 : 0)
        let moved = moveStock(medication, by: delta, now: now) { .amended(record, state: change.state, reason: reason, stock: $0) }
        return .success((record, [.save(record), .log(change)] + moved))
    }

    /// An unscheduled or as-needed take taken back: gone from the doses, kept in the trail.
    private mutating func withdraw(_ old: DoseRecord, reason: String, now: Micros, by origin: Origin) -> (DoseRecord, [Action]) {
        var record = old
        record.reason = reason
        record.corrected = true
        recount(old.dose, removing: old.answeredAt, adding: nil, site: nil)
        let change = Change(dose: old.dose, state: .withdrawn, recorded: now, origin: origin, reason: reason, isCorrection: true)
        let moved = moveStock(old.dose.medication, by: old.state == .taken ? 1 : 0, now: now) {
            .amended(record, state: .withdrawn, reason: reason, stock: $0)
        }
        return (record, [.withdraw(old.id), .log(change)] + moved)
    }

    /// The event (given the stock it moved, if any), then the stock moved by `delta` (with its
    /// low-stock alert or re-arm).
    private mutating func moveStock(_ medication: String, by delta: Int, now: Micros, telling event: (Int?) -> Event) -> [Action] {
        guard delta != 0, var current = stock[medication] else { return [.emit(event(nil))] }
        // Within ±Limits.stock (every change is one dose), so no overflow.
        current.value = Swift.min(current.value + delta, Limits.stock)
        var actions: [Action] = [.emit(event(current.value))]
        adjusted(medication, &current, now: now, into: &actions)
        return actions
    }

    /// Restores what corrections change and this machine cannot recompute alone: the last take
    /// of each schedule and the recent takes of each medication, from the history.
    public mutating func restoreTakes(lastTaken: [String: Micros], takes: [String: [Micros]]) {
        assert(!changing, "the takes are restored once a change is kept")
        self.lastTaken = .init(lastTaken)
        self.takes = .init(takes)
    }
}
