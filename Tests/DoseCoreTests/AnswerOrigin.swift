import DoseCore

extension ReminderMachine {
    /// An answer given on the command line by uid 1000: the origin these tests do not look at.
    mutating func answer(_ answer: Answer, for target: Target, now: Micros, force: Bool = false) -> Result<(DoseRecord, [Action]), AnswerError> {
        self.answer(answer, for: target, now: now, force: force, by: Origin(uid: 1000, channel: .cli))
    }
}
