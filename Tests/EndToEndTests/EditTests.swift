import DoseCore
import DoseStore
import Foundation
import Testing

/// `dosectl med | schedule | pause | resume`: validated, atomic, locked edits (issue #6).
@Suite("dosectl edits, end to end")
struct EditTests {
    static let handWritten = """
        # My own file, with comments — dosectl must not touch it.
        name   = "Interferon"   # aligned by hand
        [[schedule]]
        id = "evening"
        on = "Mon,Wed,Fri 20:00"
        """

    static func setUp() throws -> (ConfigDir, [String]) {
        let dir = try ConfigDir(["dosed.toml": "timezone = \"UTC\"\n", "medications/interferon.toml": handWritten])
        return (dir, ["--config", dir.path, "--state", dir.path + "/state", "--socket", dir.path + "/none.sock"])
    }

    static func files(_ dir: ConfigDir) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path + "/medications") {
            result[name] = FileManager.default.contents(atPath: dir.path + "/medications/" + name)
        }
        result["dosed.toml"] = FileManager.default.contents(atPath: dir.path + "/dosed.toml")
        return result
    }

    static func json(_ outcome: Outcome) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))
    }

    @Test("med add, edit, remove: seen by list --json; check passes after each; other files stay byte-identical")
    func medications() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        let before = try Self.files(dir)["interferon.toml"]
        let add = try dosectl(["med", "add", "heparin", "--name", "Heparin", "--dose", "5000 IU", "--site", "left", "--site", "right",
                               "--stock", "20", "--refill-at", "5"] + flags)
        #expect(add.status == 0, "\(add.stderr)")
        #expect(try dosectl(["check"] + flags).status == 0)
        var list = try #require(try Self.json(try dosectl(["list", "--json"] + flags)) as? [[String: Any]])
        let heparin = try #require(list.first { $0["id"] as? String == "heparin" })
        #expect(heparin["name"] as? String == "Heparin" && heparin["dose"] as? String == "5000 IU")
        #expect(heparin["sites"] as? [String] == ["left", "right"] && heparin["stock"] as? Int == 20)
        let text = try String(contentsOfFile: dir.path + "/medications/heparin.toml", encoding: .utf8)
        #expect(text.hasPrefix("# Written by dosectl."))
        #expect(try dosectl(["med", "edit", "heparin", "--dose", "7500 IU"] + flags).status == 0)
        list = try #require(try Self.json(try dosectl(["list", "--json"] + flags)) as? [[String: Any]])
        #expect(list.first { $0["id"] as? String == "heparin" }?["dose"] as? String == "7500 IU")
        #expect(try Self.files(dir)["interferon.toml"] == before)
        #expect(try dosectl(["med", "add", "heparin", "--name", "Again"] + flags).status == 1)
        #expect(try dosectl(["med", "add", "Bad", "--name", "x"] + flags).status == 2)
        #expect(try dosectl(["med", "remove", "heparin"] + flags).status == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/medications/heparin.toml"))
        #expect(try dosectl(["check"] + flags).status == 0)
        #expect(try dosectl(["med", "edit", "nosuch", "--dose", "1"] + flags).status == 1)
    }

    @Test("a schedule's own dose and route (schedule add/edit --dose --route) override the medication's in next and list")
    func scheduleDose() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        #expect(try dosectl(["med", "edit", "interferon", "--dose", "10 MU", "--route", "subcutaneous"] + flags).status == 0)
        let add = try dosectl(["schedule", "add", "interferon/induction", "--on", "Mon..Fri 08:00", "--end", "2026-12-04",
                               "--dose", "20 MU", "--route", "intravenous"] + flags)
        #expect(add.status == 0, "\(add.stderr)")
        let doses = try #require(try Self.json(try dosectl(["next", "-n", "3", "--from", "2026-11-30T00:00:00Z", "--json"] + flags))
            as? [[String: Any]])
        #expect(doses.map { "\($0["schedule"]!) \($0["dose"]!) \($0["route"]!)" } == [
            "induction 20 MU intravenous", "evening 10 MU subcutaneous", "induction 20 MU intravenous",
        ])
        let list = try #require(try Self.json(try dosectl(["list", "--json"] + flags)) as? [[String: Any]])
        let schedules = try #require(list.first?["schedules"] as? [[String: Any]])
        #expect(schedules.map { "\($0["id"]!) \($0["dose"]!) \($0["route"]!)" } == [
            "evening 10 MU subcutaneous", "induction 20 MU intravenous",
        ])
        #expect(try dosectl(["schedule", "edit", "interferon/induction", "--dose", "18 MU"] + flags).status == 0)
        #expect(try dosectl(["list"] + flags).stdout.contains("induction (18 MU, intravenous): on Mon..Fri 08:00"))
    }

    @Test("schedule add, edit, remove: seen by next --json")
    func schedules() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        func next(_ target: String) throws -> [String] {
            let outcome = try dosectl(["next", target, "-n", "2", "--from", "2026-12-01T00:00:00Z", "--json"] + flags)
            return (try Self.json(outcome) as? [[String: Any]])?.compactMap { $0["due"] as? String } ?? []
        }
        #expect(try dosectl(["schedule", "add", "interferon/morning", "--on", "*-*-* 08:00", "--before", "30m"] + flags).status == 0)
        #expect(try next("interferon/morning") == ["2026-12-01T08:00:00Z", "2026-12-02T08:00:00Z"])
        #expect(try dosectl(["check"] + flags).status == 0)
        let edit = try dosectl(["schedule", "edit", "interferon/morning", "--every", "12h", "--first", "2026-12-01 06:00"] + flags)
        #expect(edit.status == 0, "\(edit.stderr)")
        #expect(try next("interferon/morning") == ["2026-12-01T06:00:00Z", "2026-12-01T18:00:00Z"])
        #expect(try dosectl(["schedule", "remove", "interferon/morning"] + flags).status == 0)
        #expect(try dosectl(["next", "interferon/morning"] + flags).status == 1)
        #expect(try next("interferon") == ["2026-12-02T20:00:00Z", "2026-12-04T20:00:00Z"])
        #expect(try dosectl(["schedule", "add", "interferon/x"] + flags).status == 2)
        #expect(try dosectl(["schedule", "add", "interferon/x", "--every", "8x", "--first", "2026-12-01"] + flags).status == 2)
    }

    @Test("an invalid edit is refused with FILE:LINE:COLUMN and leaves every file byte-identical; --dry-run changes nothing")
    func refused() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        let before = try Self.files(dir)
        let bad = try dosectl(["schedule", "edit", "interferon/evening", "--on", "Mon 25:00"] + flags)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains(dir.path + "/medications/interferon.toml:"))
        #expect(bad.stderr.contains("hour out of range"))
        #expect(try dosectl(["schedule", "add", "interferon/z", "--on", "daily", "--timezone", "Mars/Olympus"] + flags).status == 1)
        let dry = try dosectl(["schedule", "edit", "interferon/evening", "--on", "Tue 19:00", "--dry-run"] + flags)
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("on = \"Tue 19:00\""))
        #expect(try Self.files(dir) == before)
    }

    @Test("concurrent edits of one file both survive")
    func concurrent() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        let group = DispatchGroup()
        let statuses = NSLock()
        nonisolated(unsafe) var codes: [Int32] = []
        for i in 0..<8 {
            group.enter()
            DispatchQueue.global().async {
                let code = (try? dosectl(["schedule", "add", "interferon/s\(i)", "--on", "*-*-* 0\(i):00"] + flags).status) ?? -1
                statuses.lock()
                codes.append(code)
                statuses.unlock()
                group.leave()
            }
        }
        group.wait()
        #expect(codes == Array(repeating: 0, count: 8))
        let list = try #require(try Self.json(try dosectl(["list", "--json"] + flags)) as? [[String: Any]])
        let ids = Set(((list.first?["schedules"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String })
        #expect(ids == Set(["evening"] + (0..<8).map { "s\($0)" }))
    }

    @Test("pause then resume: no doses while paused, none counted against adherence")
    func pauseResume() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        #expect(try dosectl(["schedule", "add", "interferon/daily", "--on", "*-*-* 08:00", "--start", "2026-11-01"] + flags).status == 0)
        _ = try HistoryStore(path: dir.path + "/state/history.sqlite")
        #expect(try dosectl(["pause", "interferon"] + flags).status == 0)
        let next = try dosectl(["next", "interferon", "--json"] + flags)
        #expect(next.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        var list = try #require(try Self.json(try dosectl(["list", "--json"] + flags)) as? [[String: Any]])
        #expect(((list.first?["schedules"] as? [[String: Any]]) ?? []).allSatisfy { $0["paused"] as? Bool == true })
        let adherence = try #require(try Self.json(try dosectl(["adherence", "--since", "2026-11-01", "--json"] + flags)) as? [String: Any])
        #expect((adherence["total"] as? [String: Any])?["counted"] as? Int == 0)
        #expect(try dosectl(["resume", "interferon/daily"] + flags).status == 0)
        list = try #require(try Self.json(try dosectl(["list", "--json"] + flags)) as? [[String: Any]])
        let daily = ((list.first?["schedules"] as? [[String: Any]]) ?? []).first { $0["id"] as? String == "daily" }
        #expect(daily?["paused"] as? Bool == false)
        #expect(daily?["next"] is [String: Any])
        #expect(try dosectl(["pause", "interferon/daily", "--until", "2027-02-01"] + flags).status == 0)
        let resumedLater = try dosectl(["next", "interferon/daily", "-n", "1", "--json"] + flags)
        #expect(resumedLater.stdout.contains("2027-02-01T08:00:00Z"))
    }

    @Test("a running daemon fires a schedule added from the CLI, without a restart")
    func daemonPicksUpEdit() throws {
        let harness = try DaemonHarness(medications: ["tablet": "name = \"Tablet\"\n"], main: "timezone = \"UTC\"\n")
        defer { harness.remove() }
        try harness.start()
        let client = try harness.client()
        _ = try client.call("subscribe", ["events": ["reminder"]])
        let add = try harness.dosectl(["schedule", "add", "tablet/now", "--every", "1h", "--first", DaemonHarness.local(2)])
        #expect(add.status == 0, "\(add.stderr)")
        let reminder = client.notification("reminder")
        #expect((reminder?["params"] as? [String: Any])?["schedule"] as? String == "now")
    }

    @Test("removing a medication keeps its history")
    func removeKeepsHistory() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        #expect(try dosectl(["take", "interferon"] + flags).status == 0)
        #expect(try dosectl(["med", "remove", "interferon"] + flags).status == 0)
        let store = try HistoryStore(path: dir.path + "/state/history.sqlite")
        #expect(try store.records(medication: "interferon").count == 1)
        let history = try dosectl(["history", "--json"] + flags)
        #expect(history.stdout.contains("interferon/"))
    }
}
