/// One dose and everything known about it: answers, reminders sent, snoozes (SPEC 5).
///
/// The reminder machine changes records; the store keeps them, so a restart neither repeats a
/// reminder nor forgets an answer.
public struct DoseRecord: Sendable, Equatable {
    /// Where a dose stands.
    public enum State: String, Sendable, Equatable {
        /// Not answered; its window is open or yet to come.
        case pending
        case taken
        case skipped
        case missed
        /// Withheld by the care team (SPEC 10): answered, never reminded, not counted in adherence.
        case held
    }

    public let dose: DueDose
    public var state: State = .pending
    /// When it was taken or skipped (or found missed).
    public var answeredAt: Micros?
    public var site: String?
    public var note: String?
    /// Why it was skipped or held, or why its latest correction was made (SPEC 10).
    public var reason: String?
    /// Its answer was corrected (`amend` or `undo`) at least once: `corrected: true` (SPEC 10).
    public var corrected = false
    /// How many of the schedule's pre-reminders (longest lead first) are done.
    public var preReminders = 0
    /// Reminders sent so far.
    public var reminders = 0
    public var lastReminder: Micros?
    public var escalated = false
    public var snoozedUntil: Micros?
    /// The reminder fired after its time (catch-up).
    public var late = false
    /// When the dose's window closes (due + window); nil for unscheduled doses.
    public var closes: Micros?

    public init(dose: DueDose) {
        self.dose = dose
    }

    /// `dose.id`, made when asked: a record holds no text of its own beyond names, sites and
    /// notes (see ``ReminderMachine/records``).
    public var id: String { dose.id }

    public var isAnswered: Bool { state == .taken || state == .skipped || state == .held }
    /// A take outside every schedule: unscheduled (`<medication>/extra@<time>`) or as needed
    /// (`<medication>/as-needed@<time>`). Never reminded, never counted in adherence.
    public var isExtra: Bool { DoseID.isUnscheduled(dose.schedule) }
}
