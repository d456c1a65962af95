import DoseCore
import DoseStore
import Foundation
import Testing

/// `dosectl history | adherence | note | export` on crafted histories (SPEC 8, issue #5).
@Suite("dosectl reports, end to end")
struct ReportsTests {
    /// A config (UTC) with a daily 08:00 schedule from 2026-11-01 to 2026-11-04, a paused one and
    /// a medication for extras, and a history: on time, skipped, (nothing: missed), late.
    static func setUp(lastAlive: String? = nil) throws -> (ConfigDir, [String]) {
        let dir = try ConfigDir([
            "dosed.toml": "timezone = \"UTC\"\n",
            "medications/tablet.toml": """
                name = "Tablet"
                dose = "8 mg"
                [[schedule]]
                id = "am"
                on = "*-*-* 08:00"
                start = 2026-11-01
                end = 2026-11-04
                window = "2h"
                [[schedule]]
                id = "paused"
                on = "*-*-* 20:00"
                start = 2026-11-01
                paused = true
                """,
        ])
        let store = try HistoryStore(path: dir.path + "/state/history.sqlite")
        func record(_ due: String, _ state: DoseRecord.State, _ answered: String?, note: String? = nil) -> DoseRecord {
            var r = DoseRecord(dose: DueDose(medication: "tablet", schedule: "am", due: at(due)))
            r.state = state
            r.answeredAt = answered.map(at)
            r.closes = at(due) + 2 * Civil.hour
            r.note = note
            return r
        }
        var extra = DoseRecord(dose: DueDose(medication: "tablet", schedule: "extra", due: at("2026-11-02T13:00:00Z")))
        extra.state = .taken
        extra.answeredAt = extra.dose.due
        var records = [
            record("2026-11-01T08:00:00Z", .taken, "2026-11-01T08:30:00Z", note: "with breakfast"),
            record("2026-11-02T08:00:00Z", .skipped, "2026-11-02T07:55:00Z", note: "nausea, \"bad\""),
            record("2026-11-04T08:00:00Z", .taken, "2026-11-04T12:00:00Z"),
            extra,
        ]
        if lastAlive != nil { records.append(record("2026-11-03T08:00:00Z", .missed, "2026-11-03T10:00:00Z")) }
        try store.apply(records.map { .save($0) }, alive: lastAlive.map(at))
        try store.addNote(Note(at: at("2026-11-02T09:00:00Z"), text: "felt sick", dose: "tablet/am@2026-11-02T08:00:00Z", symptom: "nausea", severity: 3))
        return (dir, ["--config", dir.path, "--state", dir.path + "/state", "--socket", dir.path + "/none.sock"])
    }

    @Test("adherence --json: exact rates; paused doses and unscheduled takes are not counted", arguments: [nil, "2026-11-05T00:00:00Z"])
    func adherence(lastAlive: String?) throws {
        let (dir, flags) = try Self.setUp(lastAlive: lastAlive)
        defer { dir.remove() }
        let outcome = try dosectl(["adherence", "--since", "2026-11-01", "--json"] + flags)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        let total = try #require(json["total"] as? [String: Any])
        #expect(total["counted"] as? Int == 4)
        #expect(total["taken"] as? Int == 2)
        #expect(total["on_time"] as? Int == 1)
        #expect(total["late"] as? Int == 1)
        #expect(total["skipped"] as? Int == 1)
        #expect(total["missed"] as? Int == 1)
        #expect(total["adherence"] as? Double == 0.5)
        #expect(total["on_time_rate"] as? Double == 0.25)
        let medications = try #require(json["medications"] as? [[String: Any]])
        #expect(medications.map { $0["medication"] as? String } == ["tablet"])
        #expect(json["since"] as? String == "2026-11-01T00:00:00Z")
        #expect(json["until"] is String)
    }

    @Test("history --json: doses (missed included), the extra and notes in time order")
    func historyJSON() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        let outcome = try dosectl(["history", "--since", "2026-11-01", "--until", "2026-11-05", "--json"] + flags)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]])
        let summary = rows.map { row -> String in
            row["kind"] as? String == "note" ? "note \(row["text"] ?? "")" : "\(row["id"] ?? "") \(row["state"] ?? "")"
        }
        #expect(summary == [
            "tablet/am@2026-11-01T08:00:00Z taken", "tablet/am@2026-11-02T08:00:00Z skipped", "note felt sick",
            "tablet/extra@2026-11-02T13:00:00Z taken", "tablet/am@2026-11-03T08:00:00Z missed",
            "tablet/am@2026-11-04T08:00:00Z taken",
        ])
        let late = rows.first { $0["id"] as? String == "tablet/am@2026-11-04T08:00:00Z" }
        #expect(late?["late"] as? Bool == true)
        #expect(late?["answered_at"] as? String == "2026-11-04T12:00:00Z")
        let note = rows.first { $0["kind"] as? String == "note" }
        #expect(note?["symptom"] as? String == "nausea")
        #expect(note?["severity"] as? Int == 3)
        #expect(note?["dose"] as? String == "tablet/am@2026-11-02T08:00:00Z")
        #expect(rows.allSatisfy { $0["kind"] as? String == "note" || ($0["medication_name"] as? String == "Tablet" && $0["due_local"] is String) })
    }

    @Test("history at one instant: doses by medication, then schedule, before notes by text; each dose has its own trail")
    func sameInstant() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        let store = try HistoryStore(path: dir.path + "/state/history.sqlite")
        let instant = at("2026-11-02T09:00:00Z")  // the time of the set-up's note
        var actions: [ReminderMachine.Action] = []
        for (uid, (medication, schedule)) in [("b", "x"), ("a-b", "x"), ("a", "y"), ("a", "x")].enumerated() {
            var record = DoseRecord(dose: DueDose(medication: medication, schedule: schedule, due: instant))
            record.state = .taken
            record.answeredAt = instant
            actions += [.save(record), .log(Change(dose: record.dose, state: .taken, at: instant, recorded: instant,
                                                   origin: Origin(uid: UInt32(uid), channel: .cli)))]
        }
        try store.apply(actions)
        try store.addNote(Note(at: instant, text: "also tired"))
        let outcome = try dosectl(["history", "--since", "2026-11-02T09:00:00Z", "--until", "2026-11-02T09:00:01Z", "--json"] + flags)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { ($0["id"] ?? $0["text"]) as? String } == [
            "a/x@2026-11-02T09:00:00Z", "a/y@2026-11-02T09:00:00Z", "a-b/x@2026-11-02T09:00:00Z", "b/x@2026-11-02T09:00:00Z",
            "also tired", "felt sick",
        ])
        // The uids given above, in the order written: each dose's trail is its own record.
        #expect(rows.prefix(4).map { (($0["changes"] as? [[String: Any]]) ?? []).map { $0["uid"] as? Int } } == [[3], [2], [1], [0]])
    }

    @Test("export --format csv parses back field by field; json has medications and history")
    func export() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        let csv = try dosectl(["export", "--format", "csv", "--until", "2026-11-05"] + flags)
        #expect(csv.status == 0, "\(csv.stderr)")
        let records = Self.parseCSV(csv.stdout)
        #expect(records.first == ["kind", "time", "id", "medication", "medication_name", "schedule", "due", "due_local",
                                  "dose", "route", "site", "state", "answered_at", "late", "note", "symptom", "severity"])
        #expect(records.count == 7)
        let skipped = try #require(records.first { $0.count > 2 && $0[2] == "tablet/am@2026-11-02T08:00:00Z" })
        #expect(skipped[11] == "skipped")
        #expect(skipped[14] == "nausea, \"bad\"")
        #expect(skipped[8] == "8 mg")
        let note = try #require(records.first { $0.first == "note" })
        #expect(note[14] == "felt sick" && note[15] == "nausea" && note[16] == "3")
        #expect(records.allSatisfy { $0.count == 17 })
        let json = try dosectl(["export", "--format", "json", "--until", "2026-11-05"] + flags)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((object["medications"] as? [[String: Any]])?.first?["id"] as? String == "tablet")
        #expect((object["history"] as? [Any])?.count == 6)
        #expect(object["exported"] is String)
    }

    @Test("note writes the diary; history shows it")
    func note() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        let added = try dosectl(["note", "tired all day", "--symptom", "tiredness", "--severity", "2"] + flags)
        #expect(added.status == 0, "\(added.stderr)")
        let history = try dosectl(["history", "--json"] + flags)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]])
        #expect(rows.contains { $0["text"] as? String == "tired all day" && $0["symptom"] as? String == "tiredness" })
        #expect(try dosectl(["note", "x", "--severity", "9"] + flags).status == 2)
    }

    @Test("bad input: bad dates and reversed periods are usage errors; unknown medication fails; no history is an empty report")
    func badInput() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        #expect(try dosectl(["history", "--since", "yesterday-ish"] + flags).status == 2)
        #expect(try dosectl(["history", "--since", "2026-11-05", "--until", "2026-11-01"] + flags).status == 2)
        let unknown = try dosectl(["adherence", "--medication", "nosuch"] + flags)
        #expect(unknown.status == 1 && unknown.stderr.contains("no medication 'nosuch'"))
        // No history yet: every report is empty, exit 0 (SPEC 8), and nothing is created.
        for command in [["history"], ["history", "--json"], ["adherence", "--json"], ["export", "--format", "json"],
                        ["export", "--format", "csv", "--until", "2020-01-01"]] {
            let missing = try dosectl(command + ["--config", dir.path, "--state", dir.path + "/elsewhere"])
            #expect(missing.status == 0, "\(command): \(missing.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/elsewhere"))
        #expect(try dosectl(["export", "--format", "xml"] + flags).status == 2)
    }

    @Test("an empty history is an empty report")
    func empty() throws {
        let dir = try ConfigDir(["medications/tablet.toml": "name = \"Tablet\"\n"])
        defer { dir.remove() }
        _ = try HistoryStore(path: dir.path + "/state/history.sqlite")
        let flags = ["--config", dir.path, "--state", dir.path + "/state"]
        let history = try dosectl(["history", "--json"] + flags)
        #expect(history.status == 0 && history.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        let adherence = try dosectl(["adherence", "--json"] + flags)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(adherence.stdout.utf8)) as? [String: Any])
        #expect((json["total"] as? [String: Any])?["counted"] as? Int == 0)
        #expect((json["total"] as? [String: Any])?["adherence"] is NSNull)
    }

    @Test("adherence --calendar draws one row per medication, a cell per day and a legend, without colour when piped")
    func calendar() throws {
        let (dir, flags) = try Self.setUp()
        defer { dir.remove() }
        let outcome = try dosectl(["adherence", "--calendar", "--since", "2026-11-01T00:00:00Z"] + flags)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let lines = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let row = try #require(lines.first { $0.hasPrefix("tablet") })
        #expect(row.contains("●○✗◐"))
        #expect(row.hasSuffix("50%"))
        #expect(!outcome.stdout.contains("\u{1B}["))
        #expect(lines.contains { $0.contains("● taken on time") && $0.contains("✗ missed") })
    }

    /// RFC 4180 CSV into records of fields.
    static func parseCSV(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.append("\""); chars = chars.dropFirst() } else { quoted = false }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                record.append(field); field = ""
            } else if c == "\n" {
                record.append(field); field = ""
                records.append(record); record = []
            } else {
                field.append(c)
            }
        }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        return records
    }
}
