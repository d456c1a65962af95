import DoseCore
import DoseStore
import Foundation
import Testing

/// The real daemon: real journald, real socket, real SQLite, short real times (SPEC 5 and 6).
@Suite("dosed end to end", .serialized)
struct DaemonTests {
    /// A schedule whose first dose falls due `inSeconds` from now, with short reminder times.
    static func medication(first inSeconds: Double, window: String = "8s", before: String = "[\"2s\"]",
                           repeatEvery: String = "2s", escalate: String = "4s", stock: Int = 10) -> String {
        """
        name = "Interferon alfa"
        dose = "3 million units"
        route = "subcutaneous"
        sites = ["abdomen left", "abdomen right"]
        stock = \(stock)
        refill_at = 2
        [[schedule]]
        id = "evening"
        every = "1h"
        first = \(DaemonHarness.local(inSeconds))
        before = \(before)
        window = "\(window)"
        repeat = "\(repeatEvery)"
        escalate = "\(escalate)"
        timezone = "UTC"
        """
    }

    @Test("as needed (SPEC 10): a take within the limits is recorded; the next is refused with -32004 and when; --force records it with limit-exceeded; limits survive a restart")
    func asNeeded() throws {
        let harness = try DaemonHarness(medications: ["paracetamol": """
            name = "Paracetamol"
            dose = "1 g"
            stock = 10
            [as_needed]
            min_interval = "4h"
            max = { doses = 4, per = "24h" }
            """], main: "timezone = \"UTC\"\n")
        defer { harness.remove() }
        try harness.start()
        let first = try harness.client().call("take", ["medication": "paracetamol"])
        let dose = try #require(first["result"] as? [String: Any], "\(first)")
        #expect((dose["id"] as? String)?.hasPrefix("paracetamol/as-needed@") == true && dose["schedule"] as? String == "as-needed")
        let refused = try #require(try harness.client().call("take", ["medication": "paracetamol"])["error"] as? [String: Any])
        #expect(refused["code"] as? Int == -32004)
        let data = try #require(refused["data"] as? [String: Any])
        #expect(data["taken_in_period"] as? Int == 1 && data["max"] as? Int == 4 && data["period"] as? String == "24h")
        #expect((data["allowed_from"] as? String).flatMap(RFC3339.parse) != nil)
        let cli = try harness.dosectl(["take", "paracetamol"])
        #expect(cli.status == 1)
        #expect(cli.stderr.contains("Paracetamol: taken at ") && cli.stderr.contains("(at least 4h apart)"), "\(cli.stderr)")
        let status = try #require(try harness.client().call("status")["result"] as? [String: Any])
        let available = try #require((status["as_needed"] as? [[String: Any]])?.first)
        #expect(available["medication"] as? String == "paracetamol" && available["available_from"] as? String == data["allowed_from"] as? String)
        // After a restart the daemon still knows the take.
        harness.stop()
        try harness.start()
        #expect((try harness.client().call("take", ["medication": "paracetamol"])["error"] as? [String: Any])?["code"] as? Int == -32004)
        let forced = try harness.dosectl(["take", "paracetamol", "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        let entries = try harness.journal { $0.contains { $0["DOSED_EVENT"] == "limit-exceeded" } }
        let exceeded = try #require(entries.first { $0["DOSED_EVENT"] == "limit-exceeded" })
        #expect(exceeded["MESSAGE_ID"] == "0432bc450a8944cca2ed11de6c179de1" && exceeded["PRIORITY"] == "4")
        #expect(exceeded["DOSED_ERROR"]?.contains("next from") == true)
        let stock = try #require(try harness.client().call("stock", ["medication": "paracetamol", "add": 1])["result"] as? [String: Any])
        #expect(stock["stock"] as? Int == 9, "two takes, one refill")
    }

    @Test("hold (SPEC 10): dosectl and the socket hold doses; a held dose is told once, with its reason, and never reminded again")
    func hold() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 2, window: "1m", repeatEvery: "1s")])
        defer { harness.remove() }
        try harness.start()
        let subscriber = try harness.client()
        _ = try subscriber.call("subscribe", ["events": ["reminder", "held"]])
        let reminder = try #require(subscriber.notification("reminder"))
        let dose = try #require((reminder["params"] as? [String: Any])?["id"] as? String)
        let hold = try harness.dosectl(["hold", "interferon", "--reason", "low blood pressure", "--json"])
        #expect(hold.status == 0, "\(hold.stderr)")
        let held = try #require(try JSONSerialization.jsonObject(with: Data(hold.stdout.utf8)) as? [String: Any])
        #expect(held["id"] as? String == dose && held["state"] as? String == "held" && held["reason"] as? String == "low blood pressure")
        let told = try #require(subscriber.notification("held"))
        #expect((told["params"] as? [String: Any])?["state"] as? String == "held")
        // The next dose, an hour ahead, held through the socket.
        let reply = try harness.client().call("hold", ["medication": "interferon"])
        let next = try #require(reply["result"] as? [String: Any], "\(reply)")
        #expect(next["state"] as? String == "held" && next["id"] as? String != dose)
        #expect((try harness.client().call("hold", ["dose": dose])["error"] as? [String: Any])?["code"] as? Int == -32602)
        // Repeats were every second: none comes after the hold.
        let entries = try harness.journal { $0.contains { $0["DOSED_EVENT"] == "held" } }
        let reminders = entries.filter { $0["DOSED_EVENT"] == "reminder" }.count
        Thread.sleep(forTimeInterval: 2.5)
        let later = try harness.journal { _ in true }
        #expect(later.filter { $0["DOSED_EVENT"] == "reminder" }.count == reminders)
        let entry = try #require(later.first { $0["DOSED_EVENT"] == "held" })
        #expect(entry["MESSAGE_ID"] == "dbc2592fa16745e18204292309d2a7b4" && entry["PRIORITY"] == "6" && entry["DOSED_DOSE_ID"] == dose)
        #expect(entry["MESSAGE"]?.hasPrefix("Held by the care team: Interferon alfa") == true)
        #expect(entry["MESSAGE"]?.hasSuffix("(low blood pressure)") == true)
        let adherence = try harness.dosectl(["adherence", "--json"])
        let total = try #require((try JSONSerialization.jsonObject(with: Data(adherence.stdout.utf8)) as? [String: Any])?["total"] as? [String: Any])
        #expect(total["held"] as? Int == 1 && total["counted"] as? Int == 0, "\(total)")
    }

    @Test("a dose's whole life in the journal and to a subscriber: pre-reminder, reminder with every field, repeats, escalation, missed",
          .enabled(if: journalAvailable))
    func lifecycle() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 5)])
        defer { harness.remove() }
        try harness.start()
        let subscriber = try harness.client()
        #expect(try subscriber.call("subscribe")["result"] as? [String: Bool] == ["subscribed": true])
        let reminder = try #require(subscriber.notification("reminder"))
        let params = try #require(reminder["params"] as? [String: Any])
        #expect(params["medication"] as? String == "interferon")
        #expect(params["state"] as? String == "due")
        #expect(params["site"] as? String == "abdomen left")
        let entries = try harness.journal { $0.contains { $0["DOSED_EVENT"] == "missed" } }
        let events = entries.compactMap { $0["DOSED_EVENT"] }
        #expect(events.first == "config-loaded")
        #expect(Array(events.drop { $0 != "pre-reminder" }.prefix(2)) == ["pre-reminder", "reminder"])
        #expect(events.filter { $0 == "escalated" }.count == 1)
        #expect(events.filter { $0 == "missed" }.count == 1)
        #expect(events.filter { $0 == "reminder" }.count >= 3)
        let first = try #require(entries.first { $0["DOSED_EVENT"] == "reminder" })
        #expect(first["PRIORITY"] == "5")
        #expect(first["MESSAGE_ID"] == "bd28bae5fb69416394bb0bf6160bde60")
        #expect(first["SYSLOG_IDENTIFIER"] == "dosed")
        #expect(first["DOSED_MEDICATION"] == "interferon")
        #expect(first["DOSED_MEDICATION_NAME"] == "Interferon alfa")
        #expect(first["DOSED_SCHEDULE"] == "evening")
        #expect(first["DOSED_DOSE"] == "3 million units")
        #expect(first["DOSED_ROUTE"] == "subcutaneous")
        #expect(first["DOSED_SITE"] == "abdomen left")
        #expect(first["DOSED_DOSE_ID"] == "interferon/evening@" + (first["DOSED_DUE"] ?? "?"))
        #expect(first["MESSAGE"]?.hasPrefix("Time for Interferon alfa, 3 million units, subcutaneous, abdomen left") == true)
        #expect(first["DOSED_LATE"] == nil)
        // From due + escalate on, reminders are warnings.
        let warnings = entries.filter { $0["DOSED_EVENT"] == "reminder" && $0["PRIORITY"] == "4" }
        #expect(!warnings.isEmpty)
        #expect(entries.first { $0["DOSED_EVENT"] == "missed" }?["MESSAGE_ID"] == "303728bad5f04070a6ebedaa5f4fafcf")
        // The due time in the journal is the scheduled instant, and the reminder came on time.
        let due = try #require(first["DOSED_DUE"].flatMap(RFC3339.parse))
        let written = try #require(first["__REALTIME_TIMESTAMP"].flatMap(Int64.init))
        #expect(written >= due && written - due < 1_000_000)
    }

    @Test("take and skip through the socket; the take is durable, counts stock, and ends the reminders")
    func answersThroughSocket() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3, stock: 3)])
        defer { harness.remove() }
        try harness.start()
        let client = try harness.client()
        _ = try client.call("subscribe", ["events": ["reminder"]])
        let reminder = try #require(client.notification("reminder"))
        let id = try #require((reminder["params"] as? [String: Any])?["id"] as? String)
        let reply = try client.call("take", ["dose": id, "note": "no fever"])
        let dose = try #require(reply["result"] as? [String: Any], "\(reply)")
        #expect(dose["state"] as? String == "taken")
        #expect(dose["note"] as? String == "no fever")
        #expect(dose["site"] as? String == "abdomen left")
        #expect(dose["answered_at"] is String)
        // Durable before the reply: the history says so.
        let store = try HistoryStore(path: harness.state.path + "/history.sqlite")
        #expect(try store.record(id)?.state == .taken)
        #expect(try store.stock()["interferon"]?.value == 2)
        // Answered twice: refused with invalid params; an unknown dose: -32002.
        #expect((try client.call("take", ["dose": id])["error"] as? [String: Any])?["code"] as? Int == -32602)
        #expect((try client.call("skip", ["dose": "interferon/evening@2020-01-01T00:00:00Z"])["error"] as? [String: Any])?["code"] as? Int == -32002)
        #expect((try client.call("skip", ["medication": "nosuch"])["error"] as? [String: Any])?["code"] as? Int == -32002)
        // No more reminders for it: a subscriber hears none over the next repeats (every 2 s).
        let quiet = try harness.client()
        _ = try quiet.call("subscribe", ["events": ["reminder"]])
        Thread.sleep(forTimeInterval: 3)
        let (statusReply, heard) = try quiet.callCollecting("status")
        #expect(heard.isEmpty, "reminders after the take: \(heard)")
        let status = try #require(statusReply["result"] as? [String: Any])
        #expect((status["due"] as? [Any])?.isEmpty == true)
    }

    @Test("snooze through the CLI; a snooze past the window ends a minute before it closes")
    func snoozeCLI() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3, window: "2h", escalate: "1h")])
        defer { harness.remove() }
        try harness.start()
        let client = try harness.client()
        _ = try client.call("subscribe", ["events": ["reminder"]])
        #expect(client.notification("reminder") != nil)
        let outcome = try harness.dosectl(["snooze", "interferon", "5h", "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let dose = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(dose["state"] as? String == "snoozed")
        let due = try #require((dose["due"] as? String).flatMap(RFC3339.parse))
        let until = try #require((dose["snoozed_until"] as? String).flatMap(RFC3339.parse))
        #expect(until == due + 2 * Civil.hour - Civil.minute)
    }

    @Test("take early (within the window before due): answered, and its reminder never fires")
    func takeEarly() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3, before: "[]")])
        defer { harness.remove() }
        try harness.start()
        let client = try harness.client()
        _ = try client.call("subscribe", ["events": ["reminder"]])
        let outcome = try harness.dosectl(["take", "interferon"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.hasPrefix("taken:"))
        // Past its due time (3 s) and a repeat: the subscriber heard no reminder.
        Thread.sleep(forTimeInterval: 4)
        let (reply, heard) = try client.callCollecting("status")
        #expect(heard.isEmpty, "reminders of a dose taken early: \(heard)")
        let status = try #require(reply["result"] as? [String: Any])
        #expect((status["due"] as? [Any])?.isEmpty == true)
        #expect(harness.process?.isRunning == true)
    }

    @Test("take, skip and snooze without the daemon write the history; the daemon then never reminds of it")
    func answersWithoutDaemon() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 2, before: "[]")])
        defer { harness.remove() }
        #expect(try harness.dosectl(["status"]).status == 3)
        let taken = try harness.dosectl(["take", "interferon", "--site", "thigh", "--json"])
        #expect(taken.status == 0, "\(taken.stderr)")
        let dose = try #require(try JSONSerialization.jsonObject(with: Data(taken.stdout.utf8)) as? [String: Any])
        #expect(dose["state"] as? String == "taken")
        #expect(dose["site"] as? String == "thigh")
        let snooze = try harness.dosectl(["snooze", "interferon"])
        #expect(snooze.status == 1)
        #expect(snooze.stderr.contains("no dose of interferon is due"))
        try harness.start()
        let client = try harness.client()
        _ = try client.call("subscribe", ["events": ["reminder"]])
        Thread.sleep(forTimeInterval: 3)
        #expect(client.readJSON() == nil)
        let store = try HistoryStore(path: harness.state.path + "/history.sqlite")
        #expect(try store.records().filter { $0.state == .taken }.count == 1)
    }

    @Test("catch-up: a dose that fell due while dosed was stopped is reminded late, or recorded missed once",
          .enabled(if: journalAvailable))
    func catchUp() throws {
        let harness = try DaemonHarness(medications: [
            "interferon": Self.medication(first: 4, window: "30s", before: "[]", repeatEvery: "0", escalate: "30s"),
            "tablet": Self.medication(first: 4, window: "2s", before: "[]", repeatEvery: "0", escalate: "2s")
                .replacingOccurrences(of: "Interferon alfa", with: "Tablet"),
        ])
        defer { harness.remove() }
        try harness.start()
        harness.stop()
        Thread.sleep(forTimeInterval: 7)
        try harness.start()
        let entries = try harness.journal { entries in
            entries.contains { $0["DOSED_EVENT"] == "reminder" } && entries.contains { $0["DOSED_EVENT"] == "missed" }
        }
        let reminders = entries.filter { $0["DOSED_EVENT"] == "reminder" }
        #expect(reminders.count == 1)
        #expect(reminders.first?["DOSED_MEDICATION"] == "interferon")
        #expect(reminders.first?["DOSED_LATE"] == "1")
        let missed = entries.filter { $0["DOSED_EVENT"] == "missed" }
        #expect(missed.map { $0["DOSED_MEDICATION"] } == ["tablet"])
        // A second restart repeats nothing.
        harness.stop()
        try harness.start()
        let again = try harness.journal { $0.contains { $0["DOSED_EVENT"] == "config-loaded" } }
        #expect(again.filter { ["reminder", "missed"].contains($0["DOSED_EVENT"] ?? "") }.isEmpty)
    }

    @Test("reload: a good config applies; a bad one is refused with config-error naming FILE:LINE:COLUMN, the old one stays",
          .enabled(if: journalAvailable))
    func reload() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3600)])
        defer { harness.remove() }
        try harness.start()
        let client = try harness.client()
        try harness.write("tablet", "name = \"Tablet\"\n[[schedule]]\nid = \"am\"\non = \"08:00\"\n")
        #expect((try client.call("reload")["result"] as? [String: Int]) == ["schedules": 2])
        try harness.write("broken", "name = \"Broken\"\n[[schedule]]\nid = \"x\"\non = \"Mon 25:00\"\n")
        let refused = try #require(try client.call("reload")["error"] as? [String: Any])
        #expect(refused["code"] as? Int == -32003)
        let path = harness.config.path + "/medications/broken.toml:4:7"
        #expect((refused["message"] as? String)?.contains(path) == true)
        let entries = try harness.journal { $0.contains { $0["DOSED_EVENT"] == "config-error" } }
        let error = try #require(entries.first { $0["DOSED_EVENT"] == "config-error" })
        #expect(error["PRIORITY"] == "3")
        #expect(error["DOSED_ERROR"]?.contains(path) == true)
        let status = try #require(try client.call("status")["result"] as? [String: Any])
        #expect(status["schedules"] as? Int == 2)
        // SIGHUP reloads too (the broken file still refuses).
        kill(harness.pid, SIGHUP)
        let after = try harness.journal { $0.filter { $0["DOSED_EVENT"] == "config-error" }.count >= 2 }
        #expect(after.filter { $0["DOSED_EVENT"] == "config-error" }.count >= 2)
    }

    @Test("every protocol error gets its JSON-RPC error; the daemon keeps serving")
    func protocolErrors() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3600)])
        defer { harness.remove() }
        try harness.start()
        let client = try harness.client()
        func errorCode(_ line: String) -> (Int?, Any?) {
            client.sendLine(line)
            let reply = client.readJSON()
            return ((reply?["error"] as? [String: Any])?["code"] as? Int, reply?["id"])
        }
        #expect(errorCode("{not json").0 == -32700)
        #expect(errorCode("{not json").1 is NSNull)
        #expect(errorCode("42").0 == -32600)
        #expect(errorCode(#"{"jsonrpc":"1.0","id":7,"method":"status"}"#).0 == -32600)
        #expect(errorCode(#"{"jsonrpc":"1.0","id":7,"method":"status"}"#).1 as? Int == 7)
        #expect(errorCode(#"{"jsonrpc":"2.0","id":8,"method":"frobnicate"}"#).0 == -32601)
        #expect(errorCode(#"{"jsonrpc":"2.0","id":9,"method":"take","params":{"dose":5}}"#).0 == -32602)
        #expect(errorCode(#"{"jsonrpc":"2.0","id":10,"method":"take","params":{}}"#).0 == -32602)
        #expect(errorCode(#"{"jsonrpc":"2.0","id":11,"method":"subscribe","params":{"events":["nope"]}}"#).0 == -32602)
        #expect(errorCode(#"{"jsonrpc":"2.0","id":12,"method":"upcoming","params":{"medication":"nosuch"}}"#).0 == -32002)
        #expect(errorCode("[]").0 == -32600)
        // A batch gets an array of replies; its notification gets none.
        client.sendLine(#"[{"jsonrpc":"2.0","id":1,"method":"status"},{"jsonrpc":"2.0","method":"status"},{"jsonrpc":"2.0","id":2,"method":"nope"}]"#)
        let batch = client.readLine().flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [[String: Any]] }
        #expect(batch?.count == 2)
        #expect(batch?.last.flatMap { ($0["error"] as? [String: Any])?["code"] as? Int } == -32601)
        // A notification alone gets nothing; the next request is answered.
        client.sendLine(#"{"jsonrpc":"2.0","method":"status"}"#)
        let upcoming = try client.call("upcoming", ["count": 2])
        #expect((upcoming["result"] as? [Any])?.count == 2)
        // A line over 64 KiB: -32600 and the connection closes.
        let big = try harness.client()
        big.sendLine(String(repeating: "x", count: 70_000))
        #expect((big.readJSON()?["error"] as? [String: Any])?["code"] as? Int == -32600)
        #expect(big.readLine() == nil)
        // Still serving.
        #expect(try harness.client().call("status")["result"] != nil)
    }

    @Test("a client running as nobody is refused with -32001 and disconnected",
          .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func foreignUID() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3600)])
        defer { harness.remove() }
        try harness.start()
        chmod(harness.root.path, 0o755)
        chmod(harness.socket, 0o666)
        let outcome = try execute("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                       product("dosectl").path, "status"] + harness.flags)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("permission denied"))
        #expect(try harness.client().call("status")["result"] != nil)
    }

    @Test("a stuck subscriber is dropped; the other subscriber and the journal get everything")
    func stuckSubscriber() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3600)])
        defer { harness.remove() }
        try harness.start()
        let stuck = try harness.client()
        _ = try stuck.call("subscribe")
        let reader = try harness.client()
        _ = try reader.call("subscribe", ["events": ["config-loaded"]])
        let reloads = 4000
        let counting = DispatchQueue(label: "reader")
        nonisolated(unsafe) var received = 0
        let done = DispatchSemaphore(value: 0)
        counting.async {
            while received < reloads, reader.notification("config-loaded") != nil { received += 1 }
            done.signal()
        }
        let driver = try harness.client()
        let batch = "[" + Array(repeating: #"{"jsonrpc":"2.0","method":"reload"}"#, count: 100).joined(separator: ",") + "]"
        for _ in 0..<(reloads / 100) { driver.sendLine(batch) }
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(received == reloads)
        // The stuck one was disconnected: draining it reaches the end of the stream.
        var lines = 0
        while stuck.readLine() != nil { lines += 1 }
        #expect(lines < reloads)
        #expect(try harness.client().call("status")["result"] != nil)
        if journalAvailable {
            let entries = try harness.journal { $0.filter { $0["DOSED_EVENT"] == "config-loaded" }.count > reloads }
            #expect(entries.filter { $0["DOSED_EVENT"] == "config-loaded" }.count == reloads + 1)
        }
    }

    @Test("kill -9 in the middle of a stream of takes: every acknowledged take is in the history")
    func killDuringTakes() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3600, stock: 10_000)])
        defer { harness.remove() }
        try harness.start()
        let client = try harness.client()
        var acknowledged: [String] = []
        let killer = DispatchQueue(label: "killer")
        killer.asyncAfter(deadline: .now() + 1) { harness.kill9() }
        while true {
            guard let reply = try? client.call("take", ["medication": "interferon"]),
                  let id = (reply["result"] as? [String: Any])?["id"] as? String
            else { break }
            acknowledged.append(id)
        }
        #expect(acknowledged.count > 10)
        try harness.start()
        let store = try HistoryStore(path: harness.state.path + "/history.sqlite")
        let stored = Set(try store.records().filter { $0.state == .taken }.map(\.id))
        #expect(Set(acknowledged).isSubset(of: stored))
        #expect(try store.stock()["interferon"]?.value == 10_000 - stored.count)
    }

    @Test("a change in the config dir reloads by itself")
    func watchesConfigDir() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3600)])
        defer { harness.remove() }
        try harness.start()
        try harness.write("tablet", "name = \"Tablet\"\n[[schedule]]\nid = \"am\"\non = \"08:00\"\n")
        var schedules = 0
        for _ in 0..<50 where schedules != 2 {
            Thread.sleep(forTimeInterval: 0.1)
            schedules = (try harness.client().call("status")["result"] as? [String: Any])?["schedules"] as? Int ?? 0
        }
        #expect(schedules == 2)
    }

    @Test("a config dir replaced whole (renamed into place, as dotfile managers do), or its medications/ replaced, is followed: reloaded then, and watched after")
    func followsReplacedConfigDir() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3600)])
        defer { harness.remove() }
        try harness.start()
        func schedules(becoming expected: Int) throws -> Int {
            var schedules = 0
            for _ in 0..<50 where schedules != expected {
                Thread.sleep(forTimeInterval: 0.1)
                schedules = (try harness.client().call("status")["result"] as? [String: Any])?["schedules"] as? Int ?? 0
            }
            return schedules
        }
        let tablet = "name = \"Tablet\"\n[[schedule]]\nid = \"am\"\non = \"08:00\"\n"
        // The whole dir: a new one renamed over the old one's name.
        let fresh = harness.root.appendingPathComponent("config.new")
        try FileManager.default.createDirectory(at: fresh.appendingPathComponent("medications"), withIntermediateDirectories: true)
        try replaceFile(fresh.appendingPathComponent("medications/interferon.toml"), with: Self.medication(first: 3600))
        try replaceFile(fresh.appendingPathComponent("medications/tablet.toml"), with: tablet)
        #expect(rename(harness.config.path, harness.root.appendingPathComponent("config.old").path) == 0)
        #expect(rename(fresh.path, harness.config.path) == 0)
        #expect(try schedules(becoming: 2) == 2, "the replaced dir was not read")
        // Watched since: a file added to the new dir.
        try harness.write("pill", tablet.replacingOccurrences(of: "Tablet", with: "Pill"))
        #expect(try schedules(becoming: 3) == 3, "the new dir is not watched")
        // medications/ replaced on its own.
        let medications = harness.config.appendingPathComponent("medications")
        let next = harness.config.appendingPathComponent("medications.next")
        try FileManager.default.createDirectory(at: next, withIntermediateDirectories: true)
        try replaceFile(next.appendingPathComponent("tablet.toml"), with: tablet)
        #expect(rename(medications.path, harness.config.appendingPathComponent("medications.old").path) == 0)
        #expect(rename(next.path, medications.path) == 0)
        #expect(try schedules(becoming: 1) == 1, "the replaced medications/ was not read")
        try harness.write("pill", tablet.replacingOccurrences(of: "Tablet", with: "Pill"))
        #expect(try schedules(becoming: 2) == 2, "the new medications/ is not watched")
    }

    @Test("dosectl watch prints one notification per line; skip through the CLI")
    func watchAndSkip() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3, before: "[]")])
        defer { harness.remove() }
        try harness.start()
        let watch = Process()
        watch.executableURL = product("dosectl")
        watch.arguments = ["watch", "--json", "--events", "reminder,skipped"] + harness.flags
        let pipe = Pipe()
        watch.standardOutput = pipe
        try launch(watch)
        // SIGKILL: a child of the test runner inherits its blocked SIGTERM.
        defer { if watch.isRunning { kill(watch.processIdentifier, SIGKILL); watch.waitUntilExit() } }
        let client = try harness.client()
        _ = try client.call("subscribe", ["events": ["reminder"]])
        #expect(client.notification("reminder") != nil)
        Thread.sleep(forTimeInterval: 0.3)
        let skip = try harness.dosectl(["skip", "--reason", "fever 39"])
        #expect(skip.status == 0, "\(skip.stderr)")
        #expect(skip.stdout.hasPrefix("skipped:"))
        Thread.sleep(forTimeInterval: 0.5)
        kill(watch.processIdentifier, SIGKILL)
        watch.waitUntilExit()
        let lines = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        let methods = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["method"] as? String }
        #expect(methods == ["reminder", "skipped"])
        let skipped = lines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect((skipped?["params"] as? [String: Any])?["reason"] as? String == "fever 39")
    }

    @Test("a missing config dir is a clear startup error; a bad flag a usage error")
    func badStateDir() throws {
        let harness = try DaemonHarness(medications: [:])
        defer { harness.remove() }
        let config = try execute("dosed", ["--config", "/nonexistent"] + harness.flags.dropFirst(2))
        #expect(config.status == 1)
        #expect(config.stderr.contains("/nonexistent"))
        #expect(try execute("dosed", ["--bogus"]).status == 2)
    }

    @Test("a history out of reach (a file where the state dir goes): reminders go on, answers are refused with why, and once the history can be made answers are recorded in it")
    func historyOutOfReach() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 2, window: "90s", repeatEvery: "30s", escalate: "60s")])
        defer { harness.remove() }
        // Not damaged (that is set aside: RobustnessEndToEndTests.damagedHistory) but out of reach.
        try Data("in the way".utf8).write(to: harness.state)
        try harness.start()
        let history = harness.state.path + "/history.sqlite"
        let why = "cannot open the state directory \(harness.state.path): Not a directory"
        #expect(harness.stderrText().contains("]: \(why); reminders go on, but no answer can be recorded until the history opens (tried again every 10 s and at each reload)\n"),
                "\(harness.stderrText())")
        let subscriber = try harness.client()
        _ = try subscriber.call("subscribe", ["events": ["reminder"]])
        let reminder = try #require(subscriber.notification("reminder")?["params"] as? [String: Any])
        let dose = try #require(reminder["id"] as? String)
        #expect(dose.hasPrefix("interferon/evening@"))
        let refused = try #require(try harness.client().call("take", ["dose": dose])["error"] as? [String: Any])
        #expect(refused["code"] as? Int == -32603)
        #expect(refused["message"] as? String == "the history is out of reach (\(why)); nothing was recorded")
        let undo = try #require(try harness.client().call("undo")["error"] as? [String: Any])
        #expect(undo["code"] as? Int == -32603)
        // Said by status, for a status bar, and by dosectl status.
        #expect((try harness.client().call("status")["result"] as? [String: Any])?["history_error"] as? String == why)
        let status = try harness.dosectl(["status"])
        #expect(status.stdout.split(separator: "\n").dropFirst().first == "the history is out of reach (\(why)): answers are not recorded", "\(status)")
        // Out of the way: within the retry's 10 s the history is made, and the dose still open
        // is held and answered there.
        try FileManager.default.removeItem(at: harness.state)
        var taken: [String: Any]?
        for _ in 0..<60 where taken == nil {
            Thread.sleep(forTimeInterval: 0.5)
            taken = try harness.client().call("take", ["dose": dose])["result"] as? [String: Any]
        }
        #expect(taken?["id"] as? String == dose && taken?["state"] as? String == "taken", "\(String(describing: taken))")
        #expect(harness.stderrText().contains("]: the history \(history) is open: answers are recorded again\n"))
        let healthy = try #require(try harness.client().call("status")["result"] as? [String: Any])
        #expect(healthy["history_error"] == nil && healthy["version"] != nil)
        let listed = try harness.dosectl(["history", "--json"])
        #expect(listed.status == 0 && listed.stdout.contains("\"id\":\"\(dose)\"") && listed.stdout.contains("\"state\":\"taken\""), "\(listed)")
    }

    @Test("a flood of connections: the daemon keeps serving")
    func connectionFlood() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3600)])
        defer { harness.remove() }
        try harness.start()
        var idle: [RPCClient] = []
        for _ in 0..<300 { if let client = RPCClient(path: harness.socket) { idle.append(client) } }
        #expect(idle.count == 300)
        #expect(try harness.client().call("status")["result"] != nil)
        idle.removeAll()
        #expect(try harness.client().call("upcoming", ["count": 1])["result"] != nil)
    }

    @Test("sd_notify: READY=1 with STATUS once armed, WATCHDOG=1, RELOADING=1 then READY=1, STOPPING=1")
    func notifyProtocol() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3600)])
        defer { harness.remove() }
        let listener = try NotifyListener(path: harness.root.path + "/notify.sock")
        try harness.start(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "400000"])
        var messages = listener.messages(within: 5) { all in all.contains { $0.contains("WATCHDOG=1") } }
        let ready = try #require(messages.first { $0.contains("READY=1") })
        #expect(ready.contains("STATUS=Nothing due; next: Interferon alfa at "))
        #expect(messages.contains { $0.contains("WATCHDOG=1") })
        _ = try harness.client().call("reload")
        messages = listener.messages(within: 5) { all in all.contains { $0.contains("READY=1") } }
        let reloading = try #require(messages.firstIndex { $0.contains("RELOADING=1") })
        #expect(messages[reloading].contains("MONOTONIC_USEC="))
        #expect(messages[reloading...].contains { $0.contains("READY=1") })
        kill(harness.pid, SIGTERM)
        messages = listener.messages(within: 5) { all in all.contains { $0.contains("STOPPING=1") } }
        #expect(messages.contains { $0.contains("STOPPING=1") })
    }

    @Test("socket activation: dosed serves the listening socket systemd passes as fd 3",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate")))
    func socketActivation() throws {
        let harness = try DaemonHarness(medications: ["interferon": Self.medication(first: 3600)])
        defer { harness.remove() }
        try harness.start(launcher: ["/usr/bin/systemd-socket-activate", "-l", harness.socket, "-E", "TZ=UTC"])
        let status = try #require(try harness.client().call("status")["result"] as? [String: Any])
        #expect(status["schedules"] as? Int == 1)
        harness.stop()
        // The socket belongs to systemd: dosed leaves it in place.
        #expect(FileManager.default.fileExists(atPath: harness.socket))
    }

    @Test("hooks: on_missed gets the dose's fields; a failing on_due is journaled and never stops the next reminder",
          .enabled(if: journalAvailable))
    func hooks() throws {
        let missedFile = FileManager.default.temporaryDirectory.appendingPathComponent("missed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: missedFile) }
        let harness = try DaemonHarness(
            medications: ["tablet": """
                name = "Tablet"
                [[schedule]]
                id = "often"
                every = "3s"
                first = \(DaemonHarness.local(1))
                window = "2s"
                repeat = "0"
                timezone = "UTC"
                """],
            main: "[hooks]\non_due = \"exit 7\"\non_missed = 'printf \"%s %s\" \"$DOSED_EVENT\" \"$DOSED_DOSE_ID\" > \(missedFile.path)'\n")
        defer { harness.remove() }
        try harness.start()
        let entries = try harness.journal { entries in
            entries.filter { $0["DOSED_EVENT"] == "reminder" }.count >= 2
                && entries.contains { $0["MESSAGE"]?.hasPrefix("hook on_due failed") == true }
        }
        #expect(entries.filter { $0["DOSED_EVENT"] == "reminder" }.count >= 2)
        let failure = try #require(entries.first { $0["MESSAGE"]?.hasPrefix("hook on_due failed") == true })
        #expect(failure["MESSAGE"] == "hook on_due failed: exited with status 7")
        #expect(failure["PRIORITY"] == "4")
        let missed = try harness.journal { $0.contains { $0["DOSED_EVENT"] == "missed" } }.first { $0["DOSED_EVENT"] == "missed" }
        Thread.sleep(forTimeInterval: 0.5)
        #expect((try? String(contentsOf: missedFile, encoding: .utf8)) == "missed \(missed?["DOSED_DOSE_ID"] ?? "?")")
    }
}
