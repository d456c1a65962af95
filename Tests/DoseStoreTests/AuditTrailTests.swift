import DoseCore
@testable import DoseStore
import Foundation
import GRDB
import Testing

/// The append-only history (SPEC 10) in a real SQLite file: the trail, undo's look-up, adherence
/// with corrections, and the migration of a history written by the version before the trail.
@Suite("Audit trail (SPEC 10)")
struct AuditTrailTests {
    static let me = Origin(uid: 1000, channel: .cli)

    static func configuration(_ text: String) throws -> DoseCore.Configuration {
        try ConfigDecoder.decode(main: nil, medications: [SourceFile(path: "medications/m.toml", text: text)],
                                 zones: .foundation()).get()
    }

    /// Four doses on Monday (08, 12, 16, 20), answered, held and corrected; the machine after all
    /// of it, and its actions in order.
    static func correctedDay() throws -> (machine: ReminderMachine, actions: [ReminderMachine.Action]) {
        let config = try configuration("""
            name = "M"
            stock = 10
            [[schedule]]
            id = "s"
            on = "*-*-* 08,12,16,20:00"
            window = "2h"
            """)
        let start = RFC3339.parse("2026-11-30T00:00:00Z")!
        var machine = ReminderMachine(config: config, snapshot: .init(lastAlive: start), now: start)
        var actions = machine.start(now: start)
        func at(_ time: String) -> Micros { RFC3339.parse("2026-11-30T\(time):00Z")! }
        func dose(_ hour: String) -> String { "m/s@2026-11-30T\(hour):00:00Z" }
        // 08 taken on time, 20 held ahead (at 09:00), 12 skipped, 16 missed.
        actions += machine.advance(to: at("08:00"))
        actions += try machine.answer(.take(at: nil, site: nil, note: nil), for: .dose(dose("08")), now: at("08:05"), by: me).get().1
        actions += try machine.answer(.hold(reason: "low blood pressure"), for: .dose(dose("20")), now: at("09:00"), by: me).get().1
        actions += machine.advance(to: at("12:00"))
        actions += try machine.answer(.skip(reason: "fever"), for: .dose(dose("12")), now: at("12:05"), by: me).get().1
        actions += machine.advance(to: at("18:00"))
        // Corrections: 16's miss was taken late (18:30, after its window), 12's skip was a hold, 08's take a skip.
        actions += try machine.amend(dose("16"), to: .taken(at: at("18:30"), site: nil), reason: "taken late",
                                     stored: nil, now: at("19:00"), by: me).get().1
        actions += try machine.amend(dose("12"), to: .held, reason: "care team", stored: nil, now: at("19:01"), by: me).get().1
        actions += try machine.amend(dose("08"), to: .skipped, reason: "wrong dose", stored: nil, now: at("19:02"), by: me).get().1
        return (machine, actions)
    }

    @Test("adherence with held doses and corrections, by hand: 2 counted, 1 taken late, 2 held — the same in SQL and in the core")
    func adherence() throws {
        let (machine, actions) = try Self.correctedDay()
        // Worked by hand: 08 skipped, 16 taken late, 12 and 20 held → counted 2, adherence 1/2,
        // on time 0/2, held 2.
        let expected = Tally(counted: 2, onTime: 0, late: 1, skipped: 1, missed: 0, held: 2)
        var pure = Tally()
        let end = RFC3339.parse("2026-12-01T00:00:00Z")!
        for record in machine.records.values { pure.add(Tally.outcome(record, now: end)) }
        #expect(pure == expected && pure.adherence == 0.5 && pure.onTimeRate == 0)
        let store = try HistoryStore()
        try store.apply(actions)
        #expect(try store.tallies(since: 0, until: end, now: end) == ["m": expected])
        // Stock: 10, one take (9), given back (10), the late take (9).
        #expect(try store.stock()["m"]?.value == 9)
        // Each dose's trail, oldest first: what it was, then each correction with its reason.
        let trail = try store.changes().byID
        #expect(trail["m/s@2026-11-30T08:00:00Z"]?.map(\.state) == [.taken, .skipped])
        #expect(trail["m/s@2026-11-30T08:00:00Z"]?.map(\.isCorrection) == [false, true])
        #expect(trail["m/s@2026-11-30T12:00:00Z"]?.map(\.state) == [.skipped, .held])
        #expect(trail["m/s@2026-11-30T16:00:00Z"]?.map(\.state) == [.missed, .taken])
        #expect(trail["m/s@2026-11-30T16:00:00Z"]?.first?.origin == .init(uid: getuid(), channel: .daemon), "the daemon's uid is written")
        #expect(trail["m/s@2026-11-30T16:00:00Z"]?.last?.reason == "taken late")
        #expect(trail["m/s@2026-11-30T20:00:00Z"]?.map(\.state) == [.held])
        #expect(try store.record("m/s@2026-11-30T08:00:00Z")?.corrected == true)
        #expect(try store.record("m/s@2026-11-30T20:00:00Z")?.corrected == false)
    }

    @Test("the trail refuses updates and deletes: it is append-only")
    func appendOnly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trail-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent(HistoryStore.fileName).path
        let store = try HistoryStore(path: path)
        try store.apply(try Self.correctedDay().actions)
        let db = try DatabaseQueue(path: path)
        defer { try? db.close() }
        let count = try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM answer") }
        #expect(count == 7)  // four answers (one the daemon's miss), three corrections
        #expect(throws: DatabaseError.self) { try db.write { try $0.execute(sql: "UPDATE answer SET state = 'taken'") } }
        #expect(throws: DatabaseError.self) { try db.write { try $0.execute(sql: "DELETE FROM answer") } }
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM answer") } == count)
    }

    @Test("undo's look-up: this uid's latest answer in the period, not a correction, not the daemon's; whether it is still the latest")
    func lastAnswer() throws {
        let store = try HistoryStore()
        let (_, actions) = try Self.correctedDay()
        try store.apply(actions)
        let nine = RFC3339.parse("2026-11-30T09:00:00Z")!
        // The latest answer of uid 1000 is 12:05's skip, corrected since (19:01).
        let last = try #require(try store.lastAnswer(uid: 1000, since: 0))
        #expect(last.answer.dose.id == "m/s@2026-11-30T12:00:00Z" && last.answer.state == .skipped && !last.isLatest)
        // From 09:00 on (the window of undo), the hold of 20:00 at 09:00 is older than the skip: the skip still.
        #expect(try store.lastAnswer(uid: 1000, since: nine)?.answer.state == .skipped)
        // Nothing after 12:05 but corrections and the daemon's miss.
        #expect(try store.lastAnswer(uid: 1000, since: RFC3339.parse("2026-11-30T12:06:00Z")!) == nil)
        #expect(try store.lastAnswer(uid: 4242, since: 0) == nil)
    }

    @Test("a history written by the version before the trail (a real file, fixture) migrates without losing a row")
    func migration() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/history-v4.sqlite")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("v4-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent(HistoryStore.fileName).path
        try FileManager.default.copyItem(atPath: fixture.path, toPath: path)
        // What the old version wrote, read with plain SQL before the migration.
        let old = try DatabaseQueue(path: path)
        let applied = try old.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
        #expect(applied.last == "v4 held doses" && !applied.contains("v5 audit trail"))
        struct Row: Equatable { var id: String; var state: String; var answeredAt: Int64?; var site: String? }
        let rows = try old.read { db in
            try GRDB.Row.fetchAll(db, sql: "SELECT id, state, answeredAt, site FROM dose ORDER BY id").map {
                Row(id: $0["id"], state: $0["state"], answeredAt: $0["answeredAt"], site: $0["site"])
            }
        }
        let stock = try old.read { try Int.fetchAll($0, sql: "SELECT value FROM stock ORDER BY medication") }
        let notes = try old.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM note") }
        try old.close()
        #expect(Set(rows.map(\.state)).isSuperset(of: ["taken", "skipped", "missed", "held"]), "the fixture holds every kind of answer")
        let store = try HistoryStore(path: path)
        let end = Micros.max / 2
        let records = try store.records()
        #expect(records.map { Row(id: $0.id, state: $0.state.rawValue, answeredAt: $0.answeredAt, site: $0.site) }
            .sorted { $0.id < $1.id } == rows)
        #expect(records.allSatisfy { !$0.corrected && $0.reason == nil })
        #expect(try store.stock().sorted { $0.key < $1.key }.map(\.value.value) == stock)
        #expect(try store.notes().count == notes)
        // One trail record per answered dose, as it stood, with nobody recorded (but the daemon for a miss).
        let trail = try store.changes().byID
        for row in rows where row.state != "pending" {
            let changes = try #require(trail[row.id], "\(row.id)")
            #expect(changes.count == 1 && changes[0].state.rawValue == row.state && !changes[0].isCorrection)
            #expect(changes[0].origin == (row.state == "missed" ? Origin(uid: nil, channel: .daemon) : nil))
            #expect(changes[0].at == (row.state == "taken" ? row.answeredAt : nil))
        }
        #expect(trail.count == rows.filter { $0.state != "pending" }.count)
        // And the history goes on: a correction of a migrated dose is appended after it.
        let taken = try #require(records.first { $0.state == .taken && !$0.isExtra })
        var corrected = taken
        corrected.state = .skipped
        try store.apply([.save(corrected), .log(Change(dose: taken.dose, state: .skipped, recorded: end, origin: Self.me,
                                                        reason: "mistake", isCorrection: true))])
        #expect(try store.changes()[taken.dose]?.map(\.state) == [.taken, .skipped])
    }
}

extension Dictionary where Key == DueDose {
    /// Keyed by the doses' ids, as the tests name them.
    var byID: [String: Value] { Dictionary<String, Value>(uniqueKeysWithValues: map { ($0.key.id, $0.value) }) }
}
