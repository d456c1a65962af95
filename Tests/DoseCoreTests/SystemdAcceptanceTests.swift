import DoseCore
import Foundation
import Testing

/// SPEC 4: dosed accepts and refuses exactly the expressions `systemd-analyze calendar` does,
/// except those that can never elapse (`*-02-30`), which SPEC 4 makes a config error.
@Suite("Differential: which expressions systemd-analyze accepts")
struct SystemdAcceptanceTests {
    /// Cases where dosed once disagreed with systemd 252 (issue #10).
    static let known = [
        "*-*-* 02..02:00", "*-*-* 4..04/100:00", "*:*:34..34.5", "*-*-* 02:00 ", " *-*-* 02:00", "Mon 02:00 ",
        "2026-1-1 ", "*-*-* ", "Mon ", "Mon, ", "*-*-*  02:00", "*:*:34..34", "*:*:34..35", "*:*:34.5..35",
        "*:*:34..34/1", "*:*:34..35.5", "*:*:0..59/60", "*:*:0/60", "0..23/24:00", "4..6/3:00", "1/23:00",
        "*-*~1/27 0:0", "*-*-1..31/31 0:0", "daily ", "02:00  UTC", "*-*-*\t02:00", "1..3,2..2:00",
    ]

    /// A deterministic corpus of expressions around the edges of the grammar: ranges of one
    /// value, repetitions longer than their range, fractions, blanks, zones.
    static let generated: [String] = {
        var seed: UInt64 = 0xCA1E_DA25
        func pick(_ choices: [String]) -> String {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return choices[Int((seed >> 33) % UInt64(choices.count))]
        }
        let lead = ["", "", "", "", "", " "]
        let weekdays = ["", "", "", "Mon ", "mon ", "Mon..Wed ", "Mon-Wed ", "Mon,Fri ", "Monday ", "Mon.. ",
                        "Mon..Mon ", "Sun..Mon ", "Mon,,Fri ", "Mon, ", "Mon,Fri  "]
        let dates = ["", "", "", "*-*-* ", "2026-*-* ", "*-*-1..1 ", "*-*-1..31/40 ", "*-*~1 ", "*-*-0 ", "*-*-32 ",
                     "*-13-01 ", "*-*-01/31 ", "*-*-01/30 ", "*-1..12/12-1 ", "*-1..12/11-1 ", "1969-*-* ", "2200-*-* ",
                     "2199-*-* ", "*-*-5..5/1 ", "*-*~5..5 ", "*-*-*  ", "*-*~1/27 ", "*-*~3..3/5 ", "69-1-1 ", "12-25 "]
        let hours = ["02", "2", "02..02", "4..04/100", "0/0", "1..1/2", "*", "25", "24", "23", "02..01", "1/100",
                     "1/22", "1/23", "0..23/23", "0..23/24", "00", "002", "2.5", "1,2", "1,,2", "1..3,5", "4..6/3", ""]
        let minutes = ["00", "0", "59", "60", "0/15", "0/60", "0/59", "30..30", "5..5/100", "*", "00.5", "1..2/0", ""]
        let seconds = ["", "", "", ":00", ":34..34.5", ":34.5", ":0/0.5", ":60", ":59.999999", ":59.9999999",
                       ":30..30", ":0/59", ":0/60", ":1.5/2", ":00.000001", ":.5", ":5.", ":*", ":34..35", ":34..34/1",
                       ":0..59/60", ":34..35.5"]
        let tails = ["", "", "", "", " ", "  ", " UTC", " utc", " Europe/London", "  UTC"]
        var corpus: [String] = []
        var seen: Set<String> = []
        while corpus.count < 3000 {
            var text = pick(lead) + pick(weekdays) + pick(dates)
            if pick(["time", "time", "time", "none"]) == "time" { text += pick(hours) + ":" + pick(minutes) + pick(seconds) }
            text += pick(tails)
            if !text.isEmpty, seen.insert(text).inserted { corpus.append(text) }
        }
        return corpus
    }()

    /// systemd-analyze's verdict on each expression: one run per 300, read back by the text
    /// it prints for each ("Original form: X" or "Failed to parse calendar specification 'X'").
    static func systemdVerdicts(_ expressions: [String]) throws -> [String: Bool] {
        var verdicts: [String: Bool] = [:]
        var start = 0
        while start < expressions.count {
            let chunk = Array(expressions[start..<min(start + 300, expressions.count)])
            start += 300
            let process = Process()
            process.executableURL = URL(fileURLWithPath: SystemdDifferentialTests.analyze!)
            process.arguments = ["calendar", "--iterations=1", "--base-time=2026-01-01 00:00:00 UTC"] + chunk
            process.environment = ["TZ": "UTC", "PATH": "/usr/bin:/bin", "SYSTEMD_COLORS": "0"]
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            nonisolated(unsafe) var errors = Data()
            let group = DispatchGroup()
            group.enter()
            DispatchQueue.global().async { errors = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
            let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            group.wait()
            process.waitUntilExit()
            let failed = String(decoding: errors, as: UTF8.self)
            for expression in chunk {
                if failed.contains("Failed to parse calendar specification '\(expression)'") {
                    verdicts[expression] = false
                } else if output.contains("Original form: \(expression)\n") {
                    verdicts[expression] = true
                }
            }
        }
        return verdicts
    }

    @Test("accepts exactly what systemd 252 accepts", .enabled(if: SystemdDifferentialTests.analyze != nil))
    func acceptance() throws {
        let expressions = Self.known + Self.generated
        let verdicts = try Self.systemdVerdicts(expressions)
        var disagreements: [String] = []
        var accepted = 0
        for expression in expressions {
            guard let systemd = verdicts[expression] else { continue }
            let ours: Bool
            do {
                _ = try CalendarExpression(parsing: expression, zones: machineZones)
                ours = true
            } catch {
                // SPEC 4: an expression that never elapses is refused on purpose.
                if error.message.contains("never elapses") { continue }
                ours = false
            }
            if systemd { accepted += 1 }
            if ours != systemd { disagreements.append("'\(expression)': systemd \(systemd ? "accepts" : "refuses"), dosed \(ours ? "accepts" : "refuses")") }
        }
        #expect(verdicts.count > expressions.count * 9 / 10, "systemd's verdicts could not be read")
        #expect(accepted > 200)
        #expect(disagreements.isEmpty, "\(disagreements.prefix(20).joined(separator: "\n"))")
    }
}
