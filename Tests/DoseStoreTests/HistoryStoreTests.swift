import DoseCore
import DoseStore
import Foundation
import Testing

@Suite("History store")
struct HistoryStoreTests {
    static func record(_ med: String, _ due: Micros, _ state: DoseRecord.State, answered: Micros? = nil, closes: Micros? = nil) -> DoseRecord {
        var r = DoseRecord(dose: DueDose(medication: med, schedule: "s", due: due))
        r.state = state
        r.answeredAt = answered
        r.closes = closes ?? due + 2 * Civil.hour
        return r
    }

    @Test("records round-trip, with every field")
    func roundTrip() throws {
        let store = try HistoryStore()
        var r = Self.record("interferon", 1_000_000, .taken, answered: 2_000_000)
        r.site = "thigh"; r.note = "ok"; r.preReminders = 1; r.reminders = 3; r.lastReminder = 5; r.escalated = true
        r.snoozedUntil = 9; r.late = true
        try store.save(r)
        #expect(try store.record(r.id) == r)
        #expect(try store.records(since: 0, until: 2_000_000, medication: "interferon") == [r])
        #expect(try store.records(medication: "other").isEmpty)
    }

    @Test("SQL tallies agree with the pure arithmetic on a random history")
    func talliesAgree() throws {
        let store = try HistoryStore()
        var generator = SystemRandomNumberGenerator()
        let now: Micros = 500 * Civil.hour
        var expected: [String: Tally] = [:]
        var records: [DoseRecord] = []
        for i in 0..<2000 {
            let med = ["a", "b", "c"][i % 3]
            let due = Micros(i) * 20 * Civil.minute
            let state: DoseRecord.State = [.pending, .taken, .skipped, .missed][Int.random(in: 0..<4, using: &generator)]
            let answered = state == .taken ? due + Micros.random(in: 0..<(4 * Civil.hour), using: &generator) : nil
            var r = Self.record(med, due, state, answered: answered)
            if i % 50 == 0 { r = DoseRecord(dose: DueDose(medication: med, schedule: "extra", due: due)); r.state = .taken; r.answeredAt = due }
            records.append(r)
        }
        try store.apply(records: records, stock: [], alive: nil)
        let since: Micros = 100 * Civil.hour, until: Micros = 600 * Civil.hour
        for r in records where r.dose.due >= since && r.dose.due < until {
            expected[r.dose.medication, default: Tally()].add(Tally.outcome(r, now: now))
        }
        #expect(try store.tallies(since: since, until: until, now: now) == expected)
        #expect(try store.tallies(since: since, until: until, medication: "b", now: now) == ["b": expected["b"]!])
        // Answers change (a missed dose taken late, a pending one skipped): the daily tallies follow.
        var changed: [DoseRecord] = []
        for (i, var r) in records.enumerated() where i % 7 == 0 && !r.isExtra {
            r.state = r.state == .skipped ? .taken : .skipped
            r.answeredAt = r.dose.due + Micros(i % 3) * Civil.hour
            changed.append(r)
            records[i] = r
        }
        try store.apply(records: changed, stock: [], alive: nil)
        expected = [:]
        for r in records where r.dose.due >= since && r.dose.due < until {
            expected[r.dose.medication, default: Tally()].add(Tally.outcome(r, now: now))
        }
        #expect(try store.tallies(since: since, until: until, now: now) == expected)
        #expect(try store.tallies(since: since + 7 * Civil.minute, until: since + 3 * Civil.hour, now: now).values.reduce(0) { $0 + $1.counted } > 0)
    }

    @Test("notes in time order, by period")
    func notes() throws {
        let store = try HistoryStore()
        try store.addNote(Note(at: 20, text: "nausea after dose", dose: "a/s@1970-01-01T00:00:00Z", symptom: "nausea", severity: 2))
        try store.addNote(Note(at: 10, text: "fever", symptom: "fever", severity: 4))
        #expect(try store.notes().map(\.text) == ["fever", "nausea after dose"])
        #expect(try store.notes(since: 15).first?.severity == 2)
    }

    @Test("a corrupt file is a clear error")
    func corrupt() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("corrupt-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "this is not sqlite".write(toFile: path, atomically: false, encoding: .utf8)
        #expect { try HistoryStore(path: path) } throws: { "\($0)".contains("not a database") }
    }
}
