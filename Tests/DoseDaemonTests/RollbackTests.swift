import DoseCore
@testable import DoseDaemon
import Foundation
import GRDB
import Testing

/// An answer the history cannot save is not recorded: the daemon says so (-32603), and the
/// machine is as before, key by key (the dose still to take, the stock unchanged), so the same
/// answer succeeds once the history can be written again, and is recorded once.
@Suite("Answers the history cannot save")
struct RollbackTests {
    @Test("a take and a refill refused by the history leave the dose to take and the stock as it was")
    func refusedWrite() throws {
        // Due in half an hour: within its window ahead, so a take by medication takes it early.
        let due = (Daemon.now() / Civil.minute + 30) * Civil.minute
        let (daemon, paths, root) = try startedEngine(demo: """
            name = "Demo"
            stock = 5
            sites = ["left", "right"]
            [[schedule]]
            id = "s"
            every = "1d"
            first = \(RFC3339.utc(due))
            window = "2h"
            """)
        defer { try? FileManager.default.removeItem(at: root) }
        let dose = DueDose(medication: "demo", schedule: "s", due: due)
        let id = dose.id
        func reply(_ method: String, _ params: String) throws -> [String: Any] {
            let line = try #require(daemon.respond(to: #"{"jsonrpc":"2.0","id":1,"method":"\#(method)","params":\#(params)}"#))
            return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        func code(_ reply: [String: Any]) -> Int? { (reply["error"] as? [String: Any])?["code"] as? Int }
        func state() -> (DoseRecord.State?, Int?, String?) {
            daemon.queue.sync { (daemon.machine.records[dose]?.state, daemon.machine.stock["demo"]?.value, daemon.machine.suggestedSite("demo")) }
        }
        let before = state()
        #expect(before.0 == nil && before.1 == 5, "not yet reminded: not in the machine's records")
        // Every write of the history fails from now on, as on a full disk.
        // Waits its turn: the daemon notes the schedules it saw on its own queue meanwhile.
        var waits = Configuration()
        waits.busyMode = .timeout(10)
        let other = try DatabaseQueue(path: paths.history, configuration: waits)
        try other.write { db in
            for table in ["dose", "stock"] {
                try db.execute(sql: "CREATE TRIGGER refuse_\(table) BEFORE UPDATE ON \(table) BEGIN SELECT RAISE(ABORT, 'disk full'); END")
                try db.execute(sql: "CREATE TRIGGER refuse_new_\(table) BEFORE INSERT ON \(table) BEGIN SELECT RAISE(ABORT, 'disk full'); END")
            }
        }
        #expect(code(try reply("take", #"{"medication":"demo"}"#)) == -32603)
        #expect(code(try reply("stock", #"{"medication":"demo","add":10}"#)) == -32603)
        #expect(state() == before, "nothing changed: no record, 5 on hand, the same site next")
        try other.write { db in
            for table in ["dose", "stock"] {
                try db.execute(sql: "DROP TRIGGER refuse_\(table)")
                try db.execute(sql: "DROP TRIGGER refuse_new_\(table)")
            }
        }
        let taken = try reply("take", #"{"medication":"demo"}"#)
        #expect(code(taken) == nil && (taken["result"] as? [String: Any])?["id"] as? String == id)
        #expect(state().0 == .taken && state().1 == 4)
        let rows = try other.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM answer WHERE dose = ? AND state = 'taken'", arguments: [id]) }
        #expect(rows == 1)
    }
}
