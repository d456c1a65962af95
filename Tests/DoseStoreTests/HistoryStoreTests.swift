import DoseCore
@testable import DoseStore
import Foundation
import GRDB
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
        r.snoozedUntil = 9; r.late = true; r.reason = "why"; r.corrected = true
        try store.save(r)
        #expect(try store.record(r.id) == r)
        #expect(try store.records(since: 0, until: 2_000_000, medication: "interferon") == [r])
        #expect(try store.records(medication: "other").isEmpty)
    }

    @Test("SQL tallies agree with the pure arithmetic on a random history")
    func talliesAgree() throws {
        let store = try HistoryStore()
        // Seeded, so a failure can be replayed exactly.
        var generator = SplitMix64(seed: 0x5EED_D05E)
        let now: Micros = 500 * Civil.hour
        var expected: [String: Tally] = [:]
        var records: [DoseRecord] = []
        for i in 0..<2000 {
            let med = ["a", "b", "c"][i % 3]
            let due = Micros(i) * 20 * Civil.minute
            let state: DoseRecord.State = [.pending, .taken, .skipped, .missed, .held][Int.random(in: 0..<5, using: &generator)]
            let answered = state == .taken ? due + Micros.random(in: 0..<(4 * Civil.hour), using: &generator) : nil
            var r = Self.record(med, due, state, answered: answered)
            if i % 50 == 0 { r = DoseRecord(dose: DueDose(medication: med, schedule: "extra", due: due)); r.state = .taken; r.answeredAt = due }
            records.append(r)
        }
        try store.apply(records.map { .save($0) }, alive: nil)
        let since: Micros = 100 * Civil.hour, until: Micros = 600 * Civil.hour
        for r in records where r.dose.due >= since && r.dose.due < until {
            expected[r.dose.medication, default: Tally()].add(Tally.outcome(r, now: now))
        }
        #expect(try store.tallies(since: since, until: until, now: now) == expected)
        #expect(try store.tallies(since: since, until: until, medication: "b", now: now) == ["b": expected["b"]!])
        // Answers change (a missed dose taken late, a pending one skipped): the daily tallies follow.
        var changed: [DoseRecord] = []
        for (i, var r) in records.enumerated() where i % 7 == 0 && !r.isExtra {
            r.state = r.state == .skipped ? .taken : r.state == .taken ? .held : .skipped
            r.answeredAt = r.dose.due + Micros(i % 3) * Civil.hour
            changed.append(r)
            records[i] = r
        }
        try store.apply(changed.map { .save($0) }, alive: nil)
        expected = [:]
        for r in records where r.dose.due >= since && r.dose.due < until {
            expected[r.dose.medication, default: Tally()].add(Tally.outcome(r, now: now))
        }
        #expect(try store.tallies(since: since, until: until, now: now) == expected)
        #expect(try store.tallies(since: since + 7 * Civil.minute, until: since + 3 * Civil.hour, now: now).values.reduce(0) { $0 + $1.counted } > 0)
    }

    @Test("a history written before held doses existed (v3) migrates without losing a row; held doses are tallied beside")
    func migrationToHeld() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("v3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent(HistoryStore.fileName).path
        // The schema as v3 shipped it, with rows written by that version's code.
        let old = try DatabaseQueue(path: path)
        try HistoryStore.migrator.migrate(old, upTo: "v3 daily tallies")
        let day = Civil.day
        try old.write { db in
            for (i, state) in ["taken", "taken", "skipped", "missed", "taken"].enumerated() {
                let due = 3 * day + Micros(i) * Civil.hour
                try db.execute(sql: """
                    INSERT INTO dose (id, medication, schedule, due, state, answeredAt, closes)
                    VALUES (?, 'm', 's', ?, ?, ?, ?)
                    """, arguments: ["m/s@\(i)", due, state, state == "taken" ? due + (i == 4 ? 3 * Civil.hour : 0) : nil,
                                     due + 2 * Civil.hour])
            }
        }
        try old.close()
        let store = try HistoryStore(path: path)
        let now = 10 * day
        // 5 counted: 2 on time, 1 late (taken after its window), 1 skipped, 1 missed.
        #expect(try store.tallies(since: 0, until: now, now: now)
            == ["m": Tally(counted: 5, onTime: 2, late: 1, skipped: 1, missed: 1, held: 0)])
        #expect(try store.records(since: 0, until: now).count == 5)
        // A held dose is reported, never counted; changing it back counts it again.
        var held = Self.record("m", 4 * day, .held, answered: 4 * day)
        try store.save(held)
        #expect(try store.tallies(since: 0, until: now, now: now)
            == ["m": Tally(counted: 5, onTime: 2, late: 1, skipped: 1, missed: 1, held: 1)])
        held.state = .taken
        try store.save(held)
        #expect(try store.tallies(since: 0, until: now, now: now)
            == ["m": Tally(counted: 6, onTime: 3, late: 1, skipped: 1, missed: 1, held: 0)])
    }

    @Test("v3's back-fill tallies the rows a v2 history already holds: pending and extra doses left out, by day and medication")
    func dailyTallyBackFill() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("v2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent(HistoryStore.fileName).path
        // A v2 history (no daily tallies yet) with rows in it, written as v2 wrote them.
        let old = try DatabaseQueue(path: path)
        try HistoryStore.migrator.migrate(old, upTo: "v2 notes and windows")
        let day = Civil.day
        let rows: [(String, String, Micros, String, Micros?)] = [
            ("a", "s", 3 * day + Civil.hour, "taken", 3 * day + Civil.hour),          // day 3, on time
            ("a", "s", 3 * day + 5 * Civil.hour, "taken", 3 * day + 9 * Civil.hour),  // day 3, late (after closes)
            ("a", "s", 3 * day + 9 * Civil.hour, "skipped", nil),                     // day 3
            ("a", "s", 4 * day, "missed", nil),                                       // day 4
            ("a", "s", 4 * day + Civil.hour, "pending", nil),                         // open: counted live, not tallied
            ("a", "extra", 4 * day + 2 * Civil.hour, "taken", 4 * day + 2 * Civil.hour), // unscheduled: never counted
            ("b", "s", 3 * day, "taken", 3 * day + Civil.minute),                     // another medication, day 3
        ]
        try old.write { db in
            for (medication, schedule, due, state, answered) in rows {
                try db.execute(sql: """
                    INSERT INTO dose (id, medication, schedule, due, state, answeredAt, closes)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: ["\(medication)/\(schedule)@\(due)", medication, schedule, due, state, answered, due + 2 * Civil.hour])
            }
        }
        try old.close()
        _ = try HistoryStore(path: path)
        let tallies = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT medication, day, onTime, late, skipped, missed FROM doseDay ORDER BY medication, day")
                .map { "\($0[0] as String) \($0[1] as Int64): \($0[2] as Int64) \($0[3] as Int64) \($0[4] as Int64) \($0[5] as Int64)" }
        }
        #expect(tallies == ["a 3: 1 1 1 0", "a 4: 0 0 0 1", "b 3: 1 0 0 0"])
    }

    @Test("the whole history begins at the earliest dose or note")
    func earliest() throws {
        let store = try HistoryStore()
        #expect(try store.earliest() == nil)
        try store.save(Self.record("a", 500, .taken, answered: 600))
        try store.save(Self.record("a", 300, .missed))
        #expect(try store.earliest() == 300)
        try store.addNote(Note(at: 100, text: "before any dose"))
        #expect(try store.earliest() == 100)
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
        #expect { try HistoryStore(path: path) } throws: { "\($0)".contains("not a database") && HistoryStore.isDamage($0) }
    }

    @Test("a damaged history is set aside with its WAL and shm under a name with the time; a second one gets a number")
    func setAside() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("history.sqlite").path
        let now: Micros = 1_796_068_800_123_456  // 2026-11-30T20:00:00.123456Z
        for round in 1...2 {
            for suffix in ["", "-wal", "-shm"] { try "round \(round)\(suffix)".write(toFile: path + suffix, atomically: false, encoding: .utf8) }
            let kept = try HistoryStore.setAside(path, now: now)
            #expect(kept == path + ".damaged-20261130T200000Z" + (round == 2 ? "-2" : ""))
            for suffix in ["", "-wal", "-shm"] {
                #expect(try String(contentsOfFile: kept + suffix, encoding: .utf8) == "round \(round)\(suffix)")
                #expect(access(path + suffix, F_OK) != 0)
            }
        }
        // Being unreachable is not damage.
        #expect(!HistoryStore.isDamage(HistoryStore.OpenError(description: "cannot open: permission denied")))
    }
}

/// A seeded generator (SplitMix64) for reproducible random histories.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
