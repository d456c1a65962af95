import DoseCore
import DoseStore
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

    /// Four weeks of three medications (UTC): interferon Mon/Wed/Fri 20:00, ondansetron daily at
    /// 08:00 (plus an ended and a paused schedule), paracetamol as needed; taken, late, skipped,
    /// missed and held doses, a correction, as-needed takes and a symptom diary.
    static func history() throws -> (ConfigDir, [String]) {
        let dir = try ConfigDir([
            "dosed.toml": "timezone = \"UTC\"\n[report]\npatient = \"Ann Example\"\n",
            "medications/interferon.toml": """
                name = "Interferon alfa"
                dose = "3 million units"
                route = "subcutaneous"
                sites = ["thigh left", "thigh right", "abdomen left"]
                stock = 30
                [[schedule]]
                id = "evening"
                on = "Mon,Wed,Fri 20:00"
                before = ["30m"]
                window = "2h"
                start = 2026-11-01
                """,
            "medications/ondansetron.toml": """
                name = "Ondansetron"
                dose = "8 mg"
                route = "by mouth"
                [[schedule]]
                id = "morning"
                on = "*-*-* 08:00"
                window = "90m"
                start = 2026-11-01
                [[schedule]]
                id = "loading"
                every = "12h"
                first = 2026-10-01T08:00:00
                end = 2026-10-10
                [[schedule]]
                id = "evening"
                on = "*-*-* 20:00"
                paused = true
                """,
            "medications/paracetamol.toml": """
                name = "Paracetamol"
                dose = "1 g"
                [as_needed]
                min_interval = "4h"
                max = { doses = 4, per = "24h" }
                reason = "fever"
                """,
        ])
        let store = try HistoryStore(path: dir.path + "/state/history.sqlite")
        var actions: [ReminderMachine.Action] = []
        let me = Origin(uid: 1000, channel: .cli)
        func answer(_ medication: String, _ schedule: String, _ due: Micros, _ state: DoseRecord.State, at: Micros? = nil,
                    window: Micros = 2 * Civil.hour, site: String? = nil, reason: String? = nil) {
            var record = DoseRecord(dose: DueDose(medication: medication, schedule: schedule, due: due))
            record.state = state
            record.answeredAt = state == .missed ? due + window : at ?? due + 5 * Civil.minute
            record.closes = DoseID.isUnscheduled(schedule) ? nil : due + window
            record.site = state == .taken ? site : nil
            record.reason = reason
            actions += [.save(record), .log(Change(answer: record, recorded: record.answeredAt!, origin: state == .missed ? .daemon : me))]
        }
        let sites = ["thigh left", "thigh right", "abdomen left"]
        var injection = 0
        for day in 0..<28 {
            let midnight = at("2026-11-01T00:00:00Z") + Micros(day) * Civil.day
            // Ondansetron: late on the 10th, skipped on the 15th, missed on the 20th.
            let morning = midnight + 8 * Civil.hour
            switch day {
            case 9: answer("ondansetron", "morning", morning, .taken, at: morning + 3 * Civil.hour, window: 90 * Civil.minute)
            case 14: answer("ondansetron", "morning", morning, .skipped, window: 90 * Civil.minute, reason: "vomiting")
            case 19: answer("ondansetron", "morning", morning, .missed, window: 90 * Civil.minute)
            default: answer("ondansetron", "morning", morning, .taken, window: 90 * Civil.minute)
            }
            // Interferon on Mon, Wed, Fri (2026-11-02 is a Monday): held on the 11th, missed on the 20th.
            let weekday = (day + 6) % 7  // 0 = Monday
            guard [0, 2, 4].contains(weekday) else { continue }
            let evening = midnight + 20 * Civil.hour
            switch day {
            case 10: answer("interferon", "evening", evening, .held, reason: "low blood pressure")
            case 19: answer("interferon", "evening", evening, .missed)
            default:
                answer("interferon", "evening", evening, .taken, site: sites[injection % 3])
                injection += 1
                // The fever after the injection, and a paracetamol for it.
                try store.addNote(Note(at: evening + 4 * Civil.hour, text: "fever after the injection", symptom: "fever",
                                       severity: 1 + (day % 4)))
                answer("paracetamol", DoseID.asNeeded, evening + 4 * Civil.hour, .taken, at: evening + 4 * Civil.hour)
            }
        }
        try store.addNote(Note(at: at("2026-11-16T10:00:00Z"), text: "very tired", symptom: "fatigue", severity: 4))
        try store.addNote(Note(at: at("2026-11-09T20:10:00Z"), text: "injection went fine", dose: "interferon/evening@2026-11-09T20:00:00Z"))
        try store.apply(actions, alive: at("2026-11-29T00:00:00Z"))
        // A correction: the skip of the 15th was a hold.
        let skipped = try #require(try store.record("ondansetron/morning@2026-11-15T08:00:00Z"))
        var held = skipped
        held.state = .held
        held.reason = "care team: low potassium"
        held.corrected = true
        try store.apply([.save(held), .log(Change(dose: held.dose, state: .held, recorded: at("2026-11-16T09:00:00Z"), origin: me,
                                                   reason: "care team: low potassium", isCorrection: true))])
        try store.apply([.saveStock(medication: "interferon", .init(value: 20, configValue: 30, alerted: false))])
        return (dir, ["--config", dir.path, "--state", dir.path + "/state", "--socket", dir.path + "/none.sock"])
    }

    @Test("export --format fhir: every resource validates (fhir.resources, R4B), every reference resolves, ids are stable, SPEC 11's mapping",
          .enabled(if: toolsAvailable))
    func fhir() throws {
        let (dir, paths) = try Self.history()
        defer { dir.remove() }
        let flags = paths + ["--since", "2026-11-01", "--until", "2026-11-29"]
        let export = try dosectl(["export", "--format", "fhir"] + flags)
        #expect(export.status == 0, "\(export.stderr)")
        let checked = try #require(try Self.check("fhir", export.stdout) as? [String: Any])
        // 12 Mon/Wed/Fri evenings (10 taken, 1 held, 1 missed), 28 mornings, 10 paracetamol.
        let types = try #require(checked["types"] as? [String: Int])
        #expect(types["Patient"] == 1 && types["Medication"] == 3)
        #expect(types["MedicationRequest"] == 5, "interferon, 3 ondansetron schedules, paracetamol as needed")
        #expect(types["MedicationAdministration"] == 12 + 28 + 10, "\(types)")
        #expect(types["Observation"] == 11, "10 fevers and the fatigue; a note without a symptom is no observation")
        let again = try #require(try Self.check("fhir", try dosectl(["export", "--format", "fhir"] + flags).stdout) as? [String: Any])
        #expect(again["ids"] as? [String] == checked["ids"] as? [String], "ids are stable across exports")

        let bundle = try #require(try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any])
        #expect(bundle["resourceType"] as? String == "Bundle" && bundle["type"] as? String == "collection")
        let resources = try #require(bundle["entry"] as? [[String: Any]]).compactMap { $0["resource"] as? [String: Any] }
        func resource(_ type: String, _ id: String) -> [String: Any]? {
            resources.first { $0["resourceType"] as? String == type && $0["id"] as? String == id }
        }
        let patient = try #require(resource("Patient", "patient"))
        #expect((patient["name"] as? [[String: Any]])?.first?["text"] as? String == "Ann Example")
        #expect((resource("Medication", "interferon")?["code"] as? [String: Any])?["text"] as? String == "Interferon alfa")
        let request = try #require(resource("MedicationRequest", "interferon.evening"))
        #expect(request["status"] as? String == "active" && request["intent"] as? String == "plan")
        let dosage = try #require((request["dosageInstruction"] as? [[String: Any]])?.first)
        #expect(dosage["text"] as? String == "3 million units, Mon, Wed and Fri at 20:00, from 2026-11-01, 30 minutes' notice, to be taken within 2 hours")
        #expect((dosage["route"] as? [String: Any])?["text"] as? String == "subcutaneous")
        let timing = try #require(dosage["timing"] as? [String: Any])
        #expect((timing["code"] as? [String: Any])?["text"] as? String == "Mon,Wed,Fri 20:00")
        #expect((timing["repeat"] as? [String: Any])?["dayOfWeek"] as? [String] == ["mon", "wed", "fri"])
        #expect((timing["repeat"] as? [String: Any])?["timeOfDay"] as? [String] == ["20:00:00"])
        #expect(resource("MedicationRequest", "ondansetron.evening")?["status"] as? String == "on-hold")
        let loading = try #require(resource("MedicationRequest", "ondansetron.loading"))
        #expect(loading["status"] as? String == "completed")
        let every = try #require(((loading["dosageInstruction"] as? [[String: Any]])?.first?["timing"] as? [String: Any])?["repeat"] as? [String: Any])
        #expect(every["frequency"] as? Int == 1 && every["period"] as? Int == 12 && every["periodUnit"] as? String == "h")
        #expect((every["boundsPeriod"] as? [String: Any])?["start"] as? String == "2026-10-01T08:00:00Z")
        let prn = try #require((resource("MedicationRequest", "paracetamol.as-needed")?["dosageInstruction"] as? [[String: Any]])?.first)
        #expect(prn["asNeededBoolean"] as? Bool == true)
        let maximum = try #require(prn["maxDosePerPeriod"] as? [String: Any])
        #expect((maximum["numerator"] as? [String: Any])?["value"] as? Int == 4)
        #expect((maximum["denominator"] as? [String: Any])?["value"] as? Int == 1 && (maximum["denominator"] as? [String: Any])?["unit"] as? String == "d")
        // Administrations: taken (with its site, request and note), held with its reason, missed.
        let taken = try #require(resource("MedicationAdministration", "interferon.evening.2026-11-09T200000Z"))
        #expect(taken["status"] as? String == "completed" && taken["effectiveDateTime"] as? String == "2026-11-09T20:05:00Z")
        #expect((taken["request"] as? [String: Any])?["reference"] as? String == "MedicationRequest/interferon.evening")
        #expect((taken["medicationReference"] as? [String: Any])?["reference"] as? String == "Medication/interferon")
        #expect((taken["subject"] as? [String: Any])?["reference"] as? String == "Patient/patient")
        let given = try #require(taken["dosage"] as? [String: Any])
        #expect((given["site"] as? [String: Any])?["text"] as? String != nil && given["text"] as? String == "3 million units")
        #expect((taken["note"] as? [[String: Any]])?.first?["text"] as? String == "injection went fine")
        let held = try #require(resource("MedicationAdministration", "interferon.evening.2026-11-11T200000Z"))
        #expect(held["status"] as? String == "not-done")
        #expect((held["statusReason"] as? [[String: Any]])?.first?["text"] as? String == "held: low blood pressure")
        let corrected = try #require(resource("MedicationAdministration", "ondansetron.morning.2026-11-15T080000Z"))
        #expect((corrected["statusReason"] as? [[String: Any]])?.first?["text"] as? String == "held: care team: low potassium")
        let missed = try #require(resource("MedicationAdministration", "interferon.evening.2026-11-20T200000Z"))
        #expect((missed["statusReason"] as? [[String: Any]])?.first?["text"] as? String == "missed"
            && missed["effectiveDateTime"] as? String == "2026-11-20T20:00:00Z")
        let fever = try #require(resources.first { $0["resourceType"] as? String == "Observation" && ($0["code"] as? [String: Any])?["text"] as? String == "fever" })
        #expect(fever["status"] as? String == "final" && fever["valueInteger"] is Int && fever["effectiveDateTime"] is String)
    }

    @Test("report: one self-contained HTML5 file (html5lib: no error, no external URL), rates equal to adherence --json, rendered by a real headless browser: the PDF has a page per medication, the missed dose's date, the rates; the screenshot is not blank",
          .enabled(if: toolsAvailable))
    func report() throws {
        let (dir, paths) = try Self.history()
        defer { dir.remove() }
        // The period of adherence --json: from a day to now.
        let flags = paths + ["--since", "2026-11-01"]
        let file = dir.url.appendingPathComponent("out/report.html")
        let made = try dosectl(["report", "--output", file.path] + flags)
        #expect(made.status == 0 && made.stdout.isEmpty, "\(made.stderr)")
        var info = stat()
        #expect(stat(file.path, &info) == 0 && info.st_mode & 0o777 == 0o600, "health data: mode 0600")
        let html = try String(contentsOf: file, encoding: .utf8)
        #expect(html.utf8.count < 1_000_000)
        let checked = try #require(try Self.check("html", html) as? [String: Any])
        #expect(checked["errors"] as? [String] == [], "\(checked["errors"] ?? "")")
        #expect(checked["external"] as? [String] == [], "nothing is fetched: \(checked["external"] ?? "")")
        #expect(checked["svgs"] as? Int ?? 0 >= 3 + 2, "a dose chart per medication and a chart per symptom")
        #expect(!html.contains("<script"))

        // The rates are adherence --json's, medication by medication.
        let adherence = try #require(try JSONSerialization.jsonObject(with: Data(try dosectl(["adherence", "--json"] + flags).stdout.utf8)) as? [String: Any])
        var printedRates: [String] = []
        for entry in try #require(adherence["medications"] as? [[String: Any]]) {
            let id = try #require(entry["medication"] as? String)
            let name = ["interferon": "Interferon alfa", "ondansetron": "Ondansetron", "paracetamol": "Paracetamol"][id]!
            let row = try #require(html.range(of: "<tr><th>\(name)</th>").map { html[$0.upperBound...].prefix { $0 != "\n" } })
            for key in ["counted", "taken", "on_time", "late", "skipped", "missed", "held"] {
                #expect(row.contains("data-key=\"\(key)\">\(entry[key] as? Int ?? -1)<"), "\(id) \(key): \(row)")
            }
            if let rate = entry["adherence"] as? Double {
                printedRates.append(String(format: "%.1f%%", rate * 100))
                #expect(row.contains("data-key=\"adherence\">\(printedRates.last!)<"), "\(id): \(row)")
            }
        }

        // A real browser: a PDF (A4) and a screenshot.
        let pdf = dir.url.appendingPathComponent("out/report.pdf")
        let png = dir.url.appendingPathComponent("out/report.png")
        let profile = dir.url.appendingPathComponent("chromium").path
        for target in ["--print-to-pdf=\(pdf.path)", "--screenshot=\(png.path)"] {
            let run = try execute("/usr/bin/timeout", ["120", "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                                      "--no-pdf-header-footer", "--user-data-dir=\(profile)", "--window-size=1100,1400",
                                                      target, file.absoluteString], environment: ["HOME": dir.path])
            #expect(run.status == 0, "chromium: \(run.stderr.suffix(500))")
        }
        let text = try execute("/usr/bin/pdftotext", ["-layout", pdf.path, "-"]).stdout
        let pages = text.components(separatedBy: "\u{0C}").filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        func page(of heading: String) -> Int? { pages.firstIndex { $0.contains(heading) } }
        let headings = ["Medication: Interferon alfa", "Medication: Ondansetron", "Medication: Paracetamol"].map(page(of:))
        #expect(headings.allSatisfy { $0 != nil && $0 != 0 }, "each medication after the summary page: \(headings)")
        #expect(Set(headings.compactMap { $0 }).count == 3, "each medication on its own page: \(headings)")
        #expect(pages.count >= 5, "summary, three medications, the diary and tables: \(pages.count) pages")
        #expect(text.contains("Ann Example") && text.contains("Symptom diary"))
        let missedRow = text.components(separatedBy: "\n").first { $0.contains("Fri 2026-11-20") && $0.contains("Interferon") }
        #expect(missedRow?.contains("missed") == true, "the missed injection's date, in the table of exceptions")
        #expect(!printedRates.isEmpty && printedRates.allSatisfy(text.contains), "the rates as printed: \(printedRates)")
        if let keep = ProcessInfo.processInfo.environment["DOSED_KEEP_REPORT"] {
            try? FileManager.default.copyItem(atPath: png.path, toPath: keep + ".png")
            try? FileManager.default.copyItem(atPath: pdf.path, toPath: keep + ".pdf")
        }
        let colours = try execute("/usr/bin/convert", [png.path, "-format", "%k", "info:"])
        #expect((Int(colours.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 20, "the screenshot is not blank: \(colours.stdout)")
    }
}
