import DoseCore
import Foundation
import Testing

/// Corrections (SPEC 10) through a running daemon, its socket, the real SQLite history and the
/// journal; and without the daemon, straight in the history.
@Suite("Corrections end to end (SPEC 10)", .serialized)
struct CorrectionEndToEndTests {
    static func json(_ text: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    static func history(_ harness: DaemonHarness) throws -> [[String: Any]] {
        let out = try harness.dosectl(["history", "--json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]], "\(out.stderr)")
    }

    static func errorCode(_ reply: [String: Any]) -> Int? {
        (reply["error"] as? [String: Any])?["code"] as? Int
    }

    @Test("amend and undo with the daemon: the stock moves, amended is told and journaled, a reopened dose is reminded again, the trail keeps every answer")
    func withDaemon() throws {
        let harness = try DaemonHarness(medications: [
            // Due a few seconds after the files are written, so after the daemon's start even on a
            // busy machine (a very first start catches nothing up).
            "interferon": DaemonTests.medication(first: 4, window: "2m", before: "[]", repeatEvery: "1h", escalate: "1h"),
            "short": """
                name = "Short window"
                [[schedule]]
                id = "s"
                every = "1h"
                first = \(DaemonHarness.local(4))
                window = "2s"
                timezone = "UTC"
                """,
        ])
        defer { harness.remove() }
        try harness.start()
        let subscriber = try harness.client()
        _ = try subscriber.call("subscribe", ["events": ["reminder", "amended"]])
        var dose = ""
        while let reminder = subscriber.notification("reminder") {
            let params = try #require(reminder["params"] as? [String: Any])
            if params["medication"] as? String == "interferon" { dose = params["id"] as? String ?? ""; break }
        }
        #expect(!dose.isEmpty)
        #expect(try harness.dosectl(["take", dose]).status == 0)

        // taken → skipped: the stock comes back (10 - 1 + 1), with an amended event.
        let amend = try harness.dosectl(["amend", dose, "--state", "skipped", "--reason", "wrong medicine"])
        #expect(amend.status == 0, "\(amend.stderr)")
        #expect(amend.stdout.hasPrefix("skipped: Interferon alfa") && amend.stdout.contains("(corrected: wrong medicine)"), "\(amend.stdout)")
        let told = try #require(subscriber.notification("amended")?["params"] as? [String: Any])
        #expect(told["id"] as? String == dose && told["state"] as? String == "skipped")
        #expect(told["corrected"] as? Bool == true && told["reason"] as? String == "wrong medicine")
        let entries = try harness.journal { $0.contains { $0["DOSED_EVENT"] == "amended" } }
        let entry = try #require(entries.first { $0["DOSED_EVENT"] == "amended" })
        #expect(entry["MESSAGE_ID"] == "6e16f8ecf1ee44a6b30b580f077f3ee6" && entry["PRIORITY"] == "5" && entry["DOSED_DOSE_ID"] == dose)
        #expect(entry["DOSED_STATE"] == "skipped" && entry["DOSED_REASON"] == "wrong medicine" && entry["DOSED_STOCK"] == "10")
        #expect(entry["MESSAGE"]?.hasPrefix("Corrected to skipped: Interferon alfa") == true, "\(entry["MESSAGE"] ?? "")")

        // Reopened inside its window: due again, and reminded again at once.
        let reopen = try harness.dosectl(["amend", dose, "--state", "open", "--reason", "will take it now", "--json"])
        #expect(reopen.status == 0, "\(reopen.stderr)")
        #expect(Self.json(reopen.stdout)?["state"] as? String == "due")
        #expect(subscriber.notification("amended") != nil)
        let again = try #require(subscriber.notification("reminder")?["params"] as? [String: Any])
        #expect(again["id"] as? String == dose)

        // Taken, then undone: due again; a second undo finds the take corrected since.
        #expect(try harness.dosectl(["take", dose, "--site", "abdomen right"]).status == 0)
        let undo = try harness.dosectl(["undo"])
        #expect(undo.status == 0 && undo.stdout.hasPrefix("reopened: due: Interferon alfa"), "\(undo.stdout)\(undo.stderr)")
        let twice = try harness.dosectl(["undo"])
        #expect(twice.status == 1 && twice.stderr.contains("nothing to undo"), "\(twice.stderr)")

        // An unscheduled take (the short medication's only dose is over) is withdrawn by undo.
        var shortMissed = false
        for _ in 0..<100 where !shortMissed {
            shortMissed = try Self.history(harness).contains { $0["schedule"] as? String == "s" && $0["state"] as? String == "missed" }
            if !shortMissed { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(shortMissed)
        let extra = try harness.client().call("take", ["medication": "short"])
        let extraID = try #require((extra["result"] as? [String: Any])?["id"] as? String, "\(extra)")
        #expect(extraID.hasPrefix("short/extra@"))
        let withdrawn = try #require(try harness.client().call("undo")["result"] as? [String: Any])
        #expect(withdrawn["undone"] as? String == "withdrawn" && (withdrawn["dose"] as? [String: Any])?["id"] as? String == extraID)

        // Refusals: each a precise error, nothing changed.
        let client = try harness.client()
        #expect(Self.errorCode(try client.call("amend", ["dose": dose, "state": "skipped"])) == -32602)
        #expect(Self.errorCode(try client.call("amend", ["dose": dose, "state": "skipped", "reason": " "])) == -32602)
        #expect(Self.errorCode(try client.call("amend", ["dose": "interferon/evening@2020-01-01T00:00:07Z", "state": "skipped", "reason": "x"])) == -32002)
        #expect(Self.errorCode(try client.call("amend", ["dose": dose, "state": "eaten", "reason": "x"])) == -32602)
        #expect(Self.errorCode(try client.call("amend", ["dose": dose, "state": "held", "at": "now", "reason": "x"])) == -32602)
        #expect(Self.errorCode(try client.call("amend", ["dose": dose, "state": "held", "reason": "x", "channel": "daemon"])) == -32602)
        let noReason = try harness.dosectl(["amend", dose, "--state", "held"])
        #expect(noReason.status == 2 && noReason.stderr.contains("--reason"), "\(noReason.stderr)")
        // The short dose was missed (window 2 s): it cannot be reopened, -32005 / exit 1.
        let short = try #require(try Self.history(harness).first { $0["medication"] as? String == "short" && $0["schedule"] as? String == "s" })
        let shortID = try #require(short["id"] as? String)
        #expect(short["state"] as? String == "missed")
        let closed = try client.call("amend", ["dose": shortID, "state": "open", "reason": "x"])
        #expect(Self.errorCode(closed) == -32005, "\(closed)")
        let cliClosed = try harness.dosectl(["amend", shortID, "--state", "open", "--reason", "x"])
        #expect(cliClosed.status == 1 && cliClosed.stderr.contains("window closed"), "\(cliClosed.stderr)")
        // Through the socket, held with a reason.
        let held = try #require(try client.call("amend", ["dose": shortID, "state": "held", "reason": "nurse said so"])["result"] as? [String: Any])
        #expect(held["state"] as? String == "held" && held["corrected"] as? Bool == true)

        // The trail: every answer and correction, who and through what.
        let row = try #require(try Self.history(harness).first { $0["id"] as? String == dose })
        #expect(row["corrected"] as? Bool == true && row["state"] as? String == "due")
        let changes = try #require(row["changes"] as? [[String: Any]])
        #expect(changes.map { $0["state"] as? String } == ["taken", "skipped", "open", "taken", "open"])
        #expect(changes.map { $0["reason"] as? String } == [nil, "wrong medicine", "will take it now", nil, "undo"])
        #expect(changes.allSatisfy { $0["channel"] as? String == "cli" && $0["uid"] as? Int == Int(getuid()) })
        #expect(changes[3]["at"] as? String != nil && changes[1]["at"] == nil)
        let shortChanges = try #require(try Self.history(harness).first { $0["id"] as? String == shortID }?["changes"] as? [[String: Any]])
        #expect(shortChanges.map { $0["channel"] as? String } == ["daemon", "socket"])
        let audit = try harness.dosectl(["history", "--audit"])
        #expect(audit.stdout.contains("corrected to skipped — wrong medicine"), "\(audit.stdout)")
        #expect(audit.stdout.contains("withdrawn short/extra"), "\(audit.stdout)")
        // Adherence counts the current states: the interferon dose is open, the short one held.
        let adherence = try #require(Self.json(try harness.dosectl(["adherence", "--json"]).stdout)?["total"] as? [String: Any])
        #expect(adherence["counted"] as? Int == 0 && adherence["held"] as? Int == 1, "\(adherence)")
        let stock = try #require(try client.call("stock", ["medication": "interferon", "add": 1])["result"] as? [String: Any])
        #expect(stock["stock"] as? Int == 11, "two takes, both taken back, one refill")
    }

    @Test("amend and undo without the daemon, straight in the history")
    func offline() throws {
        let harness = try DaemonHarness(medications: [
            "interferon": DaemonTests.medication(first: -30, window: "2m", before: "[]", repeatEvery: "1h", escalate: "1h"),
        ])
        defer { harness.remove() }
        let take = try harness.dosectl(["take", "interferon", "--json"])
        #expect(take.status == 0, "\(take.stderr)")
        let dose = try #require(Self.json(take.stdout)?["id"] as? String)
        let amend = try harness.dosectl(["amend", dose, "--state", "held", "--reason", "blood count", "--json"])
        #expect(amend.status == 0, "\(amend.stderr)")
        #expect(Self.json(amend.stdout)?["state"] as? String == "held" && Self.json(amend.stdout)?["corrected"] as? Bool == true)
        // The take is no longer the latest record of its dose: nothing to undo.
        #expect(try harness.dosectl(["undo"]).status == 1)
        let extra = try harness.dosectl(["take", "interferon"])
        #expect(extra.stdout.contains("/extra@"), "\(extra.stdout)")
        let undo = try harness.dosectl(["undo", "--json"])
        #expect(Self.json(undo.stdout)?["undone"] as? String == "withdrawn", "\(undo.stdout)\(undo.stderr)")
        let rows = try Self.history(harness)
        #expect(!rows.contains { ($0["id"] as? String)?.contains("/extra@") == true }, "a withdrawn take is no dose")
        let changes = try #require(rows.first { $0["id"] as? String == dose }?["changes"] as? [[String: Any]])
        #expect(changes.map { $0["state"] as? String } == ["taken", "held"])
        let stock = try harness.dosectl(["stock", "interferon"])
        #expect(stock.stdout.hasPrefix("interferon: 10 on hand"), "\(stock.stdout)")
    }
}
