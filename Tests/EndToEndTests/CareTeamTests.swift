import DoseCore
import Foundation
import Testing

/// What the care team and the phone get (SPEC 11), each checked by an independent parser from
/// PyPI (`icalendar`, `fhir.resources`, `html5lib`) in the virtual environment `make test` makes.
@Suite("For the care team: calendar, FHIR, report (SPEC 11)")
struct CareTeamTests {
    static let python = packageRoot.appendingPathComponent(".build/venv/bin/python").path
    /// `make test` sets DOSED_REQUIRE_TEST_TOOLS=1 after preparing the environment: there these
    /// tests fail instead of skipping when it is missing.
    static let toolsAvailable = FileManager.default.isExecutableFile(atPath: python)
        || ProcessInfo.processInfo.environment["DOSED_REQUIRE_TEST_TOOLS"] == "1"

    /// Runs Tests/Tools/care_team.py `check` on `text` written to a file; its JSON output.
    static func check(_ check: String, _ text: String) throws -> Any {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("care-\(UUID().uuidString)")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let out = try execute(python, [packageRoot.appendingPathComponent("Tests/Tools/care_team.py").path, check, file.path])
        #expect(out.status == 0, "\(check): \(out.stderr)")
        return try JSONSerialization.jsonObject(with: Data(out.stdout.utf8))
    }

    static let medications = [
        "medications/interferon.toml": """
            name = "Interferon alfa-2b (Intron A), pen — ünits"
            dose = "3 million units; 0,5 ml"
            route = "subcutaneous"
            sites = ["thigh left", "thigh right"]
            [[schedule]]
            id = "evening"
            on = "Mon,Wed,Fri 20:00"
            before = ["30m", "1h"]
            window = "2h"
            timezone = "Europe/London"
            """,
        "medications/ondansetron.toml": """
            name = "Ondansetron"
            dose = "8 mg"
            [[schedule]]
            id = "morning"
            on = "*-*-* 08:00"
            window = "90m"
            """,
    ]

    @Test("next --ics: the independent parser reads every event back as next --json lists it, with its window and an alarm at due and at each before",
          .enabled(if: toolsAvailable))
    func calendar() throws {
        let config = try ConfigDir(Self.medications)
        defer { config.remove() }
        let flags = ["--config", config.path, "--state", config.path + "/state", "--from", "2026-11-29", "--until", "2026-12-06 12:00"]
        let ics = try dosectl(["next", "--ics"] + flags)
        #expect(ics.status == 0, "\(ics.stderr)")
        let listed = try dosectl(["next", "--json"] + flags)
        let doses = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        // Mon, Wed, Fri evenings and 8 mornings (29 Nov to 6 Dec, noon).
        #expect(doses.count == 11)
        let events = try #require(try Self.check("ics", ics.stdout) as? [[String: Any]])
        #expect(events.count == doses.count)
        for (event, dose) in zip(events, doses) {
            let id = try #require(dose["id"] as? String)
            #expect(event["uid"] as? String == id + "@dosed")
            #expect(event["start"] as? String == dose["due"] as? String)
            #expect(event["categories"] as? [String] == ["MEDICATION"])
            #expect((event["description"] as? String)?.contains("dosectl take \(id)") == true)
            if dose["medication"] as? String == "interferon" {
                #expect(event["duration"] as? Int == 7200)
                #expect(event["alarms"] as? [Int] == [-3600, -1800, 0])
                #expect(event["summary"] as? String == "Interferon alfa-2b (Intron A), pen — ünits — 3 million units; 0,5 ml")
                #expect((event["description"] as? String)?.contains("Route: subcutaneous\nSite: thigh") == true)
            } else {
                #expect(event["duration"] as? Int == 5400 && event["alarms"] as? [Int] == [0])
            }
        }
        // --until bounds the listing; -n still caps it; a reversed period is a usage error.
        #expect(try dosectl(["next", "--json", "-n", "2"] + flags).stdout.components(separatedBy: "\"id\"").count == 3)
        let reversed = try dosectl(["next", "--config", config.path, "--from", "2026-12-06", "--until", "2026-12-01"])
        #expect(reversed.status == 2 && reversed.stderr.contains("--until"), "\(reversed.stderr)")
    }
}
