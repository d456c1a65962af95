import DoseCore

/// What a desktop notification of a dose says and offers (SPEC 9): the pure part of desktop
/// notifications, as ``EventFields`` is of journal entries.
public struct DesktopNotice: Sendable, Equatable {
    /// The dose this notification is about: one notification per dose.
    public var dose: String
    public var summary: String
    public var body: String
    /// The line that stands in for the buttons on a server without the `actions` capability.
    public var answerLine: String?
    /// Action keys and labels, in order; empty for a notice that asks nothing.
    public var actions: [Action]
    /// `urgency` hint: 1 (normal), 2 (critical) once the dose is escalated.
    public var urgency: UInt8
    /// `expire_timeout`: 0 never expires (reminders), -1 is the server's default.
    public var expireTimeout: Int32
    /// The last notice of this dose (missed): nothing follows it.
    public var final: Bool

    public init(dose: String, summary: String, body: String, answerLine: String?, actions: [Action], urgency: UInt8,
                expireTimeout: Int32, final: Bool) {
        self.dose = dose
        self.summary = summary
        self.body = body
        self.answerLine = answerLine
        self.actions = actions
        self.urgency = urgency
        self.expireTimeout = expireTimeout
        self.final = final
    }

    public struct Action: Sendable, Equatable {
        public var key: Key
        public var label: String
    }

    /// The answers a notification offers.
    public enum Key: String, Sendable, CaseIterable {
        case take, snooze, skip
    }

    /// `app_name`, `app_icon`, `category` and `desktop-entry` of every notification.
    public static let appName = "dosed"
    public static let icon = "dosed"
    public static let category = "x-dosed.reminder"
    public static let desktopEntry = "dosed"

    /// What an event does to its dose's notification: show (or replace) it, close it, or nothing.
    public enum Change: Sendable, Equatable {
        case show(DesktopNotice)
        case close(dose: String)
    }

    /// The change `event` makes. Reminders, repeats and escalations show the dose's notification,
    /// a pre-reminder shows it with the server's default timeout, a miss replaces it with a notice
    /// without actions, and any answer (take, skip, snooze) closes it.
    public static func change(for event: Event, config: Configuration) -> Change? {
        guard let record = event.dose, !record.isExtra else { return nil }
        let (name, due, lines) = describe(record, config: config)
        switch event.kind {
        case .reminder, .escalated, .preReminder:
            let pre = event.kind == .preReminder
            return .show(asking(record, summary: pre ? "\(name) at \(due)" : "Time for \(name)", lines: lines, due: due,
                                expireTimeout: pre ? -1 : 0, config: config))
        case .missed:
            return .show(DesktopNotice(
                dose: record.id, summary: "Missed: \(name), due \(due)", body: lines.joined(separator: "\n"),
                answerLine: nil, actions: [], urgency: 1, expireTimeout: -1, final: true))
        case .taken, .skipped, .snoozed, .held, .amended:
            // A reopened dose is shown again by its next reminder.
            return .close(dose: record.id)
        default:
            return nil
        }
    }

    /// The dose's notification again after a button's answer was not recorded (the history out
    /// of reach, the answer refused): why, above what the reminder said, and its buttons to try
    /// again. Nil for a dose no notification is shown for.
    public static func notRecorded(_ record: DoseRecord, why: String, config: Configuration) -> Change? {
        guard !record.isExtra else { return nil }
        let (name, due, lines) = describe(record, config: config)
        return .show(asking(record, summary: "Not recorded: \(name)", lines: [why] + lines, due: due, expireTimeout: 0, config: config))
    }

    /// The dose's medication name, its due time on the clock, and the line saying what is taken
    /// how (none when the file says neither).
    private static func describe(_ record: DoseRecord, config: Configuration) -> (name: String, due: String, lines: [String]) {
        let medication = config.medication(record.dose.medication)
        let zone = medication?.schedule(record.dose.schedule).map(config.zone(for:)) ?? config.zone
        let schedule = record.dose.schedule
        let what = [medication?.dose(for: schedule), medication?.route(for: schedule)].compactMap { $0 }.joined(separator: ", ")
        return (medication?.name ?? record.dose.medication, EventFields.clock(record.dose.due, zone: zone), what.isEmpty ? [] : [what])
    }

    /// A notice that asks for an answer: `lines`, the site, the due time; Take, Snooze and Skip.
    private static func asking(_ record: DoseRecord, summary: String, lines: [String], due: String, expireTimeout: Int32,
                               config: Configuration) -> DesktopNotice {
        var lines = lines
        if let site = record.site { lines.append("Site: \(site)") }
        lines.append("Due \(due)" + (record.late ? " (late reminder)" : ""))
        let actions = [
            Action(key: .take, label: "Take"),
            Action(key: .snooze, label: "Snooze \(config.notify.snoozeText)"),
            Action(key: .skip, label: "Skip"),
        ]
        return DesktopNotice(dose: record.id, summary: summary, body: lines.joined(separator: "\n"),
                             answerLine: "Answer: dosectl take \(record.id)", actions: actions,
                             urgency: record.escalated ? 2 : 1, expireTimeout: expireTimeout, final: false)
    }

    /// The body as sent: with the answer line when the server shows no buttons.
    public func body(serverHasActions: Bool) -> String {
        guard !serverHasActions, let answerLine else { return body }
        return body.isEmpty ? answerLine : body + "\n" + answerLine
    }
}
