import DoseCore

/// A dose as the socket, `--json` output and notifications show it (SPEC 6 `Dose`).
public struct DoseMessage: Codable, Sendable, Equatable {
    /// A dose's state (SPEC 6).
    public enum State: String, Codable, Sendable {
        case upcoming, due, snoozed, taken, skipped, missed, held
    }

    public var id: String
    public var medication: String
    public var medication_name: String
    public var schedule: String
    /// RFC 3339 UTC.
    public var due: String
    /// RFC 3339 with the schedule zone's offset.
    public var due_local: String
    public var dose: String?
    public var route: String?
    public var site: String?
    public var state: State
    public var answered_at: String?
    public var snoozed_until: String?
    public var late: Bool?
    public var note: String?
    /// Why it was skipped or held, or why it was last corrected (SPEC 10).
    public var reason: String?
    /// Its answer was corrected (SPEC 10).
    public var corrected: Bool?
    /// Its audit trail (`history --json`, SPEC 10), oldest first.
    public var changes: [ChangeMessage]?

    /// The message for a dose of `medication`, due at `dose.due`, in `state`.
    public init(_ dose: DueDose, medication: Medication, zone: ZoneRules, site: String?, state: State, id: String? = nil) {
        self.init(dose, shown: Configuration.Shown(name: medication.name, dose: medication.dose(for: dose.schedule),
                                                   route: medication.route(for: dose.schedule), zone: zone),
                  site: site, state: state, id: id)
    }

    init(_ dose: DueDose, shown: Configuration.Shown, site: String?, state: State, id: String?) {
        self.id = id ?? dose.id
        self.medication = dose.medication
        medication_name = shown.name
        schedule = dose.schedule
        due = RFC3339.utc(dose.due)
        due_local = RFC3339.local(dose.due, offset: shown.zone.offset(at: dose.due))
        self.dose = shown.dose
        route = shown.route
        self.site = site
        self.state = state
    }

    private enum CodingKeys: String, CodingKey {
        case id, medication, medication_name, schedule, due, due_local, dose, route, site, state
        case answered_at, snoozed_until, late, note, reason, corrected, changes
    }

    /// Optional fields are left out when absent; `dose`, `route` and `site` are `null` then.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(medication, forKey: .medication)
        try c.encode(medication_name, forKey: .medication_name)
        try c.encode(schedule, forKey: .schedule)
        try c.encode(due, forKey: .due)
        try c.encode(due_local, forKey: .due_local)
        try c.encode(dose, forKey: .dose)
        try c.encode(route, forKey: .route)
        try c.encode(site, forKey: .site)
        try c.encode(state, forKey: .state)
        try c.encodeIfPresent(answered_at, forKey: .answered_at)
        try c.encodeIfPresent(snoozed_until, forKey: .snoozed_until)
        try c.encodeIfPresent(late, forKey: .late)
        try c.encodeIfPresent(note, forKey: .note)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(corrected, forKey: .corrected)
        try c.encodeIfPresent(changes, forKey: .changes)
    }
}

extension DoseMessage {
    /// The message for a recorded dose at `now`: its state, answer, snooze and lateness
    /// (``DoseMembers/init(_:shown:now:)``).
    public init(_ record: DoseRecord, config: Configuration, now: Micros) {
        self.init(DoseMembers(record, shown: config.shown(record.dose), now: now))
    }

    init(_ m: DoseMembers) {
        id = m.id.string
        medication = m.medication
        medication_name = m.medication_name
        schedule = m.schedule
        due = m.due.string
        due_local = m.due_local.string
        dose = m.dose
        route = m.route
        site = m.site
        state = m.state
        answered_at = m.answered_at?.string
        snoozed_until = m.snoozed_until?.string
        late = m.late
        note = m.note
        reason = m.reason
        corrected = m.corrected
    }
}

/// The params of a notification of an event without a dose (`low-stock`, `config-loaded`,
/// `config-error`): its journal MESSAGE, and the medication, stock and error text it names.
public struct EventNotice: Codable, Sendable, Equatable {
    public var message: String
    public var medication: String?
    public var stock: Int?
    public var error: String?

    public init(message: String, medication: String? = nil, stock: Int? = nil, error: String? = nil) {
        self.message = message
        self.medication = medication
        self.stock = stock
        self.error = error
    }
}

/// One record of a dose's audit trail (SPEC 10): `{state, at?, recorded, uid, channel, reason?}`.
/// `uid` and `channel` are null for answers recorded before the trail existed.
public struct ChangeMessage: Codable, Sendable, Equatable {
    /// taken, skipped, missed, held, open (reopened) or withdrawn (an unscheduled take taken back).
    public var state: String
    public var at: String?
    public var recorded: String
    public var uid: UInt32?
    public var channel: String?
    public var reason: String?

    public init(_ change: Change) {
        let m = ChangeMembers(change)
        state = m.state
        at = m.at?.string
        recorded = m.recorded.string
        uid = m.uid
        channel = m.channel
        reason = m.reason
    }

    enum CodingKeys: String, CodingKey { case state, at, recorded, uid, channel, reason }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state, forKey: .state)
        try c.encodeIfPresent(at, forKey: .at)
        try c.encode(recorded, forKey: .recorded)
        try c.encode(uid, forKey: .uid)
        try c.encode(channel, forKey: .channel)
        try c.encodeIfPresent(reason, forKey: .reason)
    }
}
