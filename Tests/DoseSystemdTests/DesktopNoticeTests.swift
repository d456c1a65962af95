import DoseCore
import DoseSystemd
import Testing

/// What a dose's desktop notification says and which D-Bus calls keep it in step (SPEC 9),
/// driven by a real reminder machine with plain instants.
@Suite("Desktop notices (SPEC 9)")
struct DesktopNoticeTests {
    static let interferon = """
        name = "Interferon alfa"
        dose = "3 million units"
        route = "subcutaneous"
        sites = ["abdomen left", "abdomen right"]
        [[schedule]]
        id = "evening"
        on = "Mon,Wed,Fri 20:00"
        before = ["30m"]
        window = "2h"
        repeat = "10m"
        escalate = "1h"
        timezone = "Europe/London"
        """

    static func configuration(main: String? = nil) throws -> Configuration {
        let result = ConfigDecoder.decode(
            main: main.map { SourceFile(path: "dosed.toml", text: $0) },
            medications: [SourceFile(path: "medications/interferon.toml", text: interferon)],
            zones: .foundation())
        return try result.get()
    }

    static func at(_ text: String) -> Micros { RFC3339.parse(text)! }

    /// The changes a dose's life makes, from a machine run deadline by deadline until `end`.
    static func changes(config: Configuration, until end: String,
                        answer: (String, ReminderMachine.Answer)? = nil) -> [DesktopNotice.Change] {
        var pending = answer
        let start = at("2026-11-30T12:00:00Z")
        var machine = ReminderMachine(config: config, snapshot: .init(lastAlive: start), now: start)
        var actions = machine.start(now: start)
        while let next = machine.nextDeadline(), next <= at(end) {
            if let (time, answer) = pending, at(time) < next {
                if case .success(let (_, more)) = machine.answer(answer, for: .medication("interferon"), now: at(time)) {
                    actions += more
                }
                pending = nil
            }
            actions += machine.advance(to: next)
        }
        return actions.compactMap {
            guard let event = $0.event else { return nil }
            return DesktopNotice.change(for: event, config: config)
        }
    }

    static func notices(_ changes: [DesktopNotice.Change]) -> [DesktopNotice] {
        changes.compactMap { if case .show(let notice) = $0 { notice } else { nil } }
    }

    @Test("pre-reminder, reminder, repeats and escalation show one dose's notice; a miss replaces it without buttons")
    func life() throws {
        let changes = Self.changes(config: try Self.configuration(), until: "2026-11-30T22:00:00Z")
        let notices = Self.notices(changes)
        let dose = "interferon/evening@2026-11-30T20:00:00Z"
        #expect(Set(notices.map(\.dose)) == [dose])
        // 19:30 pre-reminder, 20:00 first, repeats every 10m to 21:50 (escalated from 21:00), missed at 22:00.
        #expect(notices.count == 1 + 12 + 1 + 1)
        let pre = try #require(notices.first)
        #expect(pre.summary == "Interferon alfa at 20:00")
        #expect(pre.expireTimeout == -1)
        #expect(pre.urgency == 1)
        let first = notices[1]
        #expect(first.summary == "Time for Interferon alfa")
        #expect(first.body == "3 million units, subcutaneous\nSite: abdomen left\nDue 20:00")
        #expect(first.actions.map(\.key) == [.take, .snooze, .skip])
        #expect(first.actions.map(\.label) == ["Take", "Snooze 15m", "Skip"])
        #expect(first.expireTimeout == 0)
        #expect(!first.final)
        // From due + escalate every notice is critical.
        #expect(notices[1..<7].allSatisfy { $0.urgency == 1 })
        #expect(notices[7..<14].allSatisfy { $0.urgency == 2 })
        let missed = try #require(notices.last)
        #expect(missed.summary == "Missed: Interferon alfa, due 20:00")
        #expect(missed.actions.isEmpty)
        #expect(missed.final)
        #expect(missed.expireTimeout == -1)
        #expect(!changes.contains { if case .close = $0 { true } else { false } })
    }

    @Test("an answer closes the dose's notice, and nothing shows after a take")
    func answers() throws {
        let config = try Self.configuration()
        for answer: ReminderMachine.Answer in [.take(at: nil, site: nil, note: nil), .skip(reason: nil)] {
            let changes = Self.changes(config: config, until: "2026-11-30T22:00:00Z", answer: ("2026-11-30T20:05:00Z", answer))
            let close = try #require(changes.firstIndex(of: .close(dose: "interferon/evening@2026-11-30T20:00:00Z")))
            #expect(changes.count == close + 1, "\(answer): nothing after the close")
        }
        // A snooze closes it too; the notice comes back when the snooze ends.
        let snoozed = Self.changes(config: config, until: "2026-11-30T20:30:00Z",
                                   answer: ("2026-11-30T20:05:00Z", .snooze(20 * Civil.minute)))
        let close = try #require(snoozed.firstIndex(of: .close(dose: "interferon/evening@2026-11-30T20:00:00Z")))
        #expect(Self.notices(Array(snoozed[close...])).count == 1)
    }

    @Test("[notify] snooze names the button; a server without buttons gets the dosectl line")
    func snoozeLabel() throws {
        let config = try Self.configuration(main: "[notify]\nsnooze = \"30m\"\ndesktop = false\n")
        #expect(config.notify.snooze == 30 * Civil.minute)
        #expect(config.notify.desktop(system: false) == false)
        let notice = try #require(Self.notices(Self.changes(config: config, until: "2026-11-30T20:00:00Z")).last)
        #expect(notice.actions.map(\.label) == ["Take", "Snooze 30m", "Skip"])
        #expect(notice.body(serverHasActions: true) == notice.body)
        #expect(notice.body(serverHasActions: false)
            == notice.body + "\nAnswer: dosectl take interferon/evening@2026-11-30T20:00:00Z")
        let defaults = try Self.configuration()
        #expect(defaults.notify.desktop(system: false) && !defaults.notify.desktop(system: true))
    }

    @Test("bad [notify] values are FILE:LINE:COLUMN errors")
    func badNotify() {
        let result = ConfigDecoder.decode(
            main: SourceFile(path: "dosed.toml", text: "[notify]\ndesktop = \"yes\"\nsnooze = \"0\"\nsound = true\n"),
            medications: [], zones: .foundation())
        guard case .failure(let errors) = result else { Issue.record("accepted"); return }
        #expect(errors.description == """
            dosed.toml:2:11: 'notify.desktop' must be true or false, not a string
            dosed.toml:3:10: 'notify.snooze' must be longer than zero
            dosed.toml:4:1: unknown key 'sound' in [notify] (known: desktop, snooze)
            """)
    }

    @Test("a schedule's own dose and route are the dose's, in the journal, the notification and the message")
    func scheduleDose() throws {
        let text = Self.interferon + "\ndose = \"20 million units\"\nroute = \"intravenous\"\n"
        let config = try ConfigDecoder.decode(
            main: nil, medications: [SourceFile(path: "medications/interferon.toml", text: text)],
            zones: .foundation()).get()
        var record = DoseRecord(dose: DueDose(medication: "interferon", schedule: "evening", due: Self.at("2026-11-30T20:00:00Z")))
        record.reminders = 1
        let event = Event.reminder(record, first: true, late: false, warning: false)
        let fields = Dictionary(EventFields.fields(event, config: config), uniquingKeysWith: { $1 })
        #expect(fields["DOSED_DOSE"] == "20 million units" && fields["DOSED_ROUTE"] == "intravenous")
        #expect(EventFields.message(event, config: config).hasPrefix("Time for Interferon alfa, 20 million units, intravenous"))
        guard case .show(let notice)? = DesktopNotice.change(for: event, config: config) else { Issue.record("no notice"); return }
        #expect(notice.body.hasPrefix("20 million units, intravenous\n"))
        // An unscheduled take has the medication's own.
        let extra = DoseRecord(dose: DueDose(medication: "interferon", schedule: DoseID.extra, due: Self.at("2026-11-30T20:00:00Z")))
        let extraFields = Dictionary(EventFields.fields(.taken(extra, stock: nil), config: config), uniquingKeysWith: { $1 })
        #expect(extraFields["DOSED_DOSE"] == "3 million units" && extraFields["DOSED_ROUTE"] == "subcutaneous")
    }

    static func notice(_ dose: String, final: Bool = false) -> DesktopNotice {
        DesktopNotice(dose: dose, summary: "s", body: "b", answerLine: nil, actions: [], urgency: 1,
                      expireTimeout: 0, final: final)
    }

    @Test("one notification per dose: a repeat replaces it by the id the server gave")
    func book() {
        var book = NotificationBook()
        let a = Self.notice("a")
        #expect(book.show(a) == [.notify(a, replaces: 0, serial: 1)])
        #expect(book.notified(dose: "a", serial: 1, id: 7) == [])
        #expect(book.dose(for: 7) == "a")
        #expect(book.show(a) == [.notify(a, replaces: 7, serial: 2)])
        // The shown notification still answers for its dose while the replacement is on its way.
        #expect(book.dose(for: 7) == "a")
        #expect(book.notified(dose: "a", serial: 2, id: 7) == [])
        #expect(book.close(dose: "a") == [.close(7)])
        #expect(book.dose(for: 7) == nil)
        #expect(book.close(dose: "a") == [])
        #expect(book.count == 0)
    }

    @Test("what happens while a Notify is unanswered follows its reply: the newest notice, or the close")
    func inFlight() {
        var book = NotificationBook()
        let first = Self.notice("a"), second = Self.notice("a")
        _ = book.show(first)
        #expect(book.show(second) == [])
        #expect(book.show(second) == [])
        #expect(book.notified(dose: "a", serial: 1, id: 3) == [.notify(second, replaces: 3, serial: 2)])
        #expect(book.close(dose: "a") == [])
        #expect(book.notified(dose: "a", serial: 2, id: 3) == [.close(3)])
        #expect(book.count == 0)
        // A failed Notify leaves nothing behind; a stale reply is ignored.
        _ = book.show(first)
        #expect(book.notified(dose: "a", serial: 3, id: nil) == [])
        #expect(book.notified(dose: "a", serial: 3, id: 9) == [])
        #expect(book.dose(for: 9) == nil)
        #expect(book.count == 0)
    }

    @Test("a missed notice is the last: its id is forgotten; signals for other ids are not ours")
    func finalAndForeign() {
        var book = NotificationBook()
        _ = book.show(Self.notice("a"))
        _ = book.notified(dose: "a", serial: 1, id: 4)
        _ = book.show(Self.notice("a", final: true))
        #expect(book.notified(dose: "a", serial: 2, id: 4) == [])
        #expect(book.dose(for: 4) == nil)
        #expect(book.count == 0)
        // The server closed a notification: the next repeat is a new one.
        _ = book.show(Self.notice("b"))
        _ = book.notified(dose: "b", serial: 3, id: 5)
        book.closed(id: 99)
        #expect(book.dose(for: 5) == "b")
        book.closed(id: 5)
        #expect(book.show(Self.notice("b")) == [.notify(Self.notice("b"), replaces: 0, serial: 4)])
        _ = book.notified(dose: "b", serial: 4, id: 6)
        _ = book.show(Self.notice("c"))
        #expect(book.closeAll() == [.close(6)], "what is shown is closed; what is on its way is left")
        #expect(book.count == 0)
    }
}
