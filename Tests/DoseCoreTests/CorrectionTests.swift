import DoseCore
import Testing

/// Corrections (SPEC 10): `amend` and `undo` on the pure machine, with plain instants.
@Suite("Corrections (SPEC 10)")
struct CorrectionTests {
    typealias M = ReminderMachineTests
    static let monday = "interferon/evening@2026-11-30T20:00:00Z"
    static let me = Origin(uid: 1000, channel: .cli)

    static func changes(_ actions: [ReminderMachine.Action]) -> [Change] {
        actions.compactMap { if case .log(let change) = $0 { change } else { nil } }
    }

    static func emitted(_ actions: [ReminderMachine.Action]) -> [Event] {
        actions.compactMap(\.event)
    }

    @Test("every answer is a record of the trail: who, through what, when; a miss is the daemon's")
    func answersAreLogged() throws {
        var machine = try M.machine()
        _ = machine.advance(to: at("2026-11-30T20:00:00Z"))
        let (_, actions) = try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("interferon"),
                                              now: at("2026-11-30T20:03:00Z"), by: Self.me).get()
        #expect(Self.changes(actions) == [Change(dose: DueDose(medication: "interferon", schedule: "evening", due: at("2026-11-30T20:00:00Z")),
                                                 state: .taken, at: at("2026-11-30T20:03:00Z"), site: "abdomen left",
                                                 recorded: at("2026-11-30T20:03:00Z"), origin: Self.me)])
        // Wednesday's dose is never answered: found missed by the daemon when its window closes.
        let missed = machine.advance(to: at("2026-12-02T22:00:00Z"))
        #expect(Self.changes(missed).map(\.state) == [.missed])
        #expect(Self.changes(missed).first?.origin == .daemon && Self.changes(missed).first?.isCorrection == false)
        // A snooze changes no state: it is not in the trail.
        _ = machine.advance(to: at("2026-12-04T20:00:00Z"))
        let (_, snoozed) = try machine.answer(.snooze(15 * Civil.minute), for: .medication("interferon"), now: at("2026-12-04T20:01:00Z"),
                                              by: Self.me).get()
        #expect(Self.changes(snoozed).isEmpty)
    }

    @Test("amend taken → skipped: the stock comes back, one amended event with the new state and the reason")
    func amendToSkipped() throws {
        var machine = try M.machine()
        _ = machine.advance(to: at("2026-11-30T20:00:00Z"))
        _ = try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("interferon"), now: at("2026-11-30T20:01:00Z")).get()
        let (record, actions) = try machine.amend(Self.monday, to: .skipped, reason: "  recorded by mistake ", stored: nil,
                                                  now: at("2026-11-30T20:10:00Z"), by: Self.me).get()
        #expect(record.state == .skipped && record.corrected && record.reason == "recorded by mistake")
        let change = try #require(Self.changes(actions).first)
        #expect(change.state == .skipped && change.isCorrection && change.reason == "recorded by mistake" && change.origin == Self.me)
        let events = Self.emitted(actions)
        #expect(events.map(\.kind) == [.amended])
        #expect(events.first?.state == .skipped && events.first?.reason == "recorded by mistake")
        #expect(events.first?.stock == 4, "the take counted 4 → 3; the correction gives it back")
        #expect(machine.stock["interferon"]?.value == 4)
        // Skipped again: nothing to change.
        #expect(throws: ReminderMachine.AnswerError.self) {
            try machine.amend(Self.monday, to: .skipped, reason: "again", stored: nil, now: at("2026-11-30T20:11:00Z"), by: Self.me).get()
        }
    }

    @Test("bad corrections change nothing: no reason, an unknown dose, a dose not yet answerable")
    func refusals() throws {
        var machine = try M.machine()
        _ = machine.advance(to: at("2026-11-30T20:00:00Z"))
        let before = machine
        func code(_ id: String, _ correction: ReminderMachine.Correction, reason: String = "why") -> ReminderMachine.AnswerError.Code? {
            if case .failure(let error) = machine.amend(id, to: correction, reason: reason, stored: nil, now: at("2026-11-30T20:05:00Z"), by: Self.me) {
                return error.code
            }
            return nil
        }
        #expect(code(Self.monday, .skipped, reason: " \n") == .invalid)
        #expect(code("interferon/evening@2026-11-30T20:07:00Z", .skipped) == .notFound)
        #expect(code("nosuch/evening@2026-11-30T20:00:00Z", .skipped) == .notFound)
        #expect(code("interferon/evening@2026-12-04T20:00:00Z", .skipped) == .invalid)
        #expect(code(Self.monday, .open) == .invalid, "it is not answered: nothing to reopen")
        #expect(code(Self.monday, .missed) == .notAllowed, "its window is open until 22:00")
        #expect(code(Self.monday, .taken(at: at("2026-11-30T21:00:00Z"), site: nil)) == .invalid, "in the future")
        #expect(code(Self.monday, .skipped, reason: String(repeating: "x", count: 1001)) == .invalid)
        #expect(machine.records == before.records && machine.stock == before.stock)
    }

    @Test("reopening inside the window: due again, its reminders resume from now; after the window: not allowed")
    func reopen() throws {
        var machine = try M.machine()
        _ = machine.advance(to: at("2026-11-30T20:00:00Z"))
        _ = try machine.answer(.skip(reason: nil), for: .medication("interferon"), now: at("2026-11-30T20:01:00Z")).get()
        #expect(M.run(&machine, until: "2026-11-30T21:00:00Z") == [])
        let (record, actions) = try machine.amend(Self.monday, to: .open, reason: "I will take it after all", stored: nil,
                                                  now: at("2026-11-30T21:00:00Z"), by: Self.me).get()
        #expect(record.state == .pending && record.answeredAt == nil && record.reminders == 0)
        #expect(Self.emitted(actions).first?.state == .open)
        // A reminder at once (it is due), repeats every 10 minutes, missed when the window closes at 22:00.
        #expect(try #require(machine.nextDeadline()) <= at("2026-11-30T21:00:00Z"), "due at once")
        #expect(M.events(machine.advance(to: at("2026-11-30T21:00:00Z"))) == ["escalated", "reminder late warning"])
        #expect(M.run(&machine, until: "2026-11-30T22:00:00Z")
            == ["21:10 reminder late warning", "21:20 reminder late warning", "21:30 reminder late warning",
                "21:40 reminder late warning", "21:50 reminder late warning", "22:00 missed"])
        // Its window closed: reopening is refused, a correction to another state is not.
        let late = machine.amend(Self.monday, to: .open, reason: "too late", stored: nil, now: at("2026-11-30T22:30:00Z"), by: Self.me)
        #expect((try? late.get()) == nil)
        if case .failure(let error) = late { #expect(error.code == .notAllowed && error.message.contains("window closed")) }
        let (taken, _) = try machine.amend(Self.monday, to: .taken(at: at("2026-11-30T21:55:00Z"), site: "abdomen right"),
                                           reason: "taken, forgot to answer", stored: nil, now: at("2026-11-30T22:30:00Z"), by: Self.me).get()
        #expect(taken.state == .taken && taken.answeredAt == at("2026-11-30T21:55:00Z") && taken.site == "abdomen right")
        #expect(machine.stock["interferon"]?.value == 3, "missed → taken counts one down")
    }

    @Test("a dose only the history holds can be amended (records the machine has forgotten)")
    func storedRecord() throws {
        var machine = try M.machine(now: "2026-12-20T12:00:00Z")
        var old = DoseRecord(dose: DueDose(medication: "interferon", schedule: "evening", due: at("2026-11-30T20:00:00Z")))
        old.state = .missed
        old.answeredAt = at("2026-11-30T22:00:00Z")
        old.closes = at("2026-11-30T22:00:00Z")
        let (record, actions) = try machine.amend(old.id, to: .taken(at: nil, site: nil), reason: "paper diary says taken",
                                                  stored: old, now: at("2026-12-20T12:00:00Z"), by: Self.me).get()
        #expect(record.state == .taken && record.answeredAt == old.dose.due, "--at defaults to when it was due")
        #expect(Self.changes(actions).first?.at == old.dose.due)
    }

    @Test("undo: the last answer reopens, or an unscheduled take is withdrawn with its stock; only while it is the latest")
    func undo() throws {
        var machine = try M.machine()
        _ = machine.advance(to: at("2026-11-30T20:00:00Z"))
        let (taken, actions) = try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("interferon"),
                                                  now: at("2026-11-30T20:01:00Z"), by: Self.me).get()
        let answer = try #require(Self.changes(actions).first)
        let (reopened, undone) = try machine.undo((answer, true), stored: nil, now: at("2026-11-30T20:05:00Z"), by: Self.me).get()
        #expect(reopened.id == taken.id && reopened.state == .pending && reopened.reason == "undo")
        #expect(Self.changes(undone).map(\.state) == [.open] && Self.changes(undone).first?.reason == "undo")
        #expect(machine.stock["interferon"]?.value == 4)
        // Corrected since (not the latest record): refused; nothing at all: not found.
        if case .failure(let error) = machine.undo((answer, false), stored: nil, now: at("2026-11-30T20:06:00Z"), by: Self.me) {
            #expect(error.code == .invalid)
        } else {
            Issue.record("an answer corrected since cannot be undone")
        }
        if case .failure(let error) = machine.undo(nil, stored: nil, now: at("2026-11-30T20:06:00Z"), by: Self.me) {
            #expect(error.code == .notFound)
        } else {
            Issue.record("nothing to undo")
        }
        // An unscheduled take (nothing due on Tuesday) is withdrawn: no longer a dose, stock restored.
        let (extra, made) = try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("interferon"),
                                               now: at("2026-12-01T09:00:00Z"), by: Self.me).get()
        #expect(extra.isExtra && machine.stock["interferon"]?.value == 3)
        // The history keeps it (the daemon passes its record as `stored`), not the machine.
        #expect(machine.records[extra.dose] == nil)
        // An unscheduled take was no scheduled dose: it cannot be skipped, held or missed.
        for correction: ReminderMachine.Correction in [.skipped, .held, .missed] {
            if case .failure(let error) = machine.amend(extra.id, to: correction, reason: "no", stored: extra,
                                                         now: at("2026-12-01T09:00:30Z"), by: Self.me) {
                #expect(error.message.contains("outside its schedule"), "\(correction)")
            } else {
                Issue.record("\(correction) of an unscheduled take")
            }
        }
        let (_, withdrawn) = try machine.undo((Self.changes(made)[0], true), stored: extra, now: at("2026-12-01T09:01:00Z"), by: Self.me).get()
        #expect(withdrawn.contains(.withdraw(extra.id)))
        #expect(Self.changes(withdrawn).map(\.state) == [.withdrawn])
        #expect(machine.records[extra.dose] == nil && machine.stock["interferon"]?.value == 4)
    }
}
