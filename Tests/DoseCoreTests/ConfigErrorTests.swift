import DoseCore
import Testing

/// Malformed configurations and the exact `FILE:LINE:COLUMN` each error names.
@Suite("Config errors (SPEC 3): every error, with its position")
struct ConfigErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var file: String = "medications/med.toml"
        var text: String
        /// `LINE:COLUMN: part of the message`, every error expected, in order.
        var expected: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "TOML syntax error: an unterminated string, at its opening quote", text: "name = \"x\"\n[[schedule]]\nid = \"a\nx\"\n",
             expected: ["3:6: unterminated string"]),
        Case(name: "unknown key at top level and in a schedule",
             text: "name = \"x\"\ncolour = \"red\"\n[[schedule]]\nid = \"a\"\non = \"daily\"\n  frequency = 1\n",
             expected: ["2:1: unknown key 'colour'", "6:3: unknown key 'frequency'"]),
        Case(name: "wrong types", text: "name = 3\nstock = \"many\"\nsites = \"belly\"\n",
             expected: ["1:8: 'name' must be a string, not an integer", "2:9: 'stock' must be an integer",
                        "3:9: 'sites' must be an array of strings"]),
        Case(name: "missing name", text: "dose = \"1 mg\"\n", expected: ["1:1: missing required key 'name'"]),
        Case(name: "bad durations, in a table and an array",
             text: "name = \"x\"\n[[schedule]]\nid = \"a\"\non = \"daily\"\nwindow = \"2 hours\"\nbefore = [\"30m\", \"1x\"]\nrepeat = 5\n",
             expected: ["5:10: bad duration for 'schedule[0].window'", "6:18: bad duration for 'schedule[0].before[1]'",
                        "7:10: 'schedule[0].repeat' must be a duration string"]),
        Case(name: "bad expression: the column points into the string",
             text: "name = \"x\"\n[[schedule]]\nid = \"a\"\non = \"Mon,Wed,Fry 20:00\"\n",
             expected: ["4:15: bad calendar expression 'Mon,Wed,Fry 20:00'"]),
        Case(name: "an expression that never elapses",
             text: "name = \"x\"\n[[schedule]]\nid = \"a\"\non = [\"daily\", \"*-02-30\"]\n",
             expected: ["4:17: bad calendar expression '*-02-30': it never elapses"]),
        Case(name: "on with every", text: "name = \"x\"\n[[schedule]]\nid = \"a\"\non = \"daily\"\nevery = \"8h\"\nfirst = 2026-12-01T08:00:00\n",
             expected: ["5:1: a schedule has either 'on' or 'every', not both"]),
        Case(name: "every without first", text: "name = \"x\"\n[[schedule]]\nid = \"a\"\nevery = \"8h\"\n",
             expected: ["4:1: 'every' needs 'first'"]),
        Case(name: "neither on nor every", text: "name = \"x\"\n[[schedule]]\nid = \"a\"\n",
             expected: ["2:1: a schedule needs 'on'"]),
        Case(name: "duplicate and malformed schedule ids, and the reserved one",
             text: "name = \"x\"\n[[schedule]]\nid = \"a\"\non = \"daily\"\n[[schedule]]\nid = \"a\"\non = \"weekly\"\n[[schedule]]\nid = \"B\"\non = \"daily\"\n[[schedule]]\nid = \"extra\"\non = \"daily\"\n[[schedule]]\non = \"daily\"\n",
             expected: ["6:6: schedule id 'a' is used twice", "9:6: schedule id 'B' must match", "12:6: schedule id 'extra' is reserved",
                        "14:1: [[schedule]] needs an 'id'"]),
        Case(name: "bad medication id from the file name", file: "medications/Interferon.toml", text: "name = \"x\"\n",
             expected: ["1:1: 'Interferon' is not a valid medication id"]),
        Case(name: "cycle forms",
             text: "name = \"x\"\n[[schedule]]\nid = \"a\"\nevery = \"8h\"\nfirst = 2026-12-01T08:00:00\ncycle = { doses = 14, on = \"5d\", off = \"9d\" }\n[[schedule]]\nid = \"b\"\nevery = \"8h\"\nfirst = 2026-12-01T08:00:00\ncycle = { doses = 0 }\n[[schedule]]\nid = \"c\"\non = \"daily\"\ncycle = { on = \"5d\", off = \"9d\" }\n",
             expected: ["6:23: 'cycle' has either 'doses' or 'on'", "11:1: 'cycle' needs 'off'", "11:19: 'schedule[1].cycle.doses' must be 1 to 10000, not 0",
                        "15:1: 'cycle' on an 'on' schedule needs 'start'"]),
        Case(name: "bounds out of order, count without start, anchor misuse",
             text: "name = \"x\"\n[[schedule]]\nid = \"a\"\non = \"daily\"\nstart = 2027-01-01\nend = 2026-12-31\n[[schedule]]\nid = \"b\"\non = \"daily\"\ncount = 3\nanchor = \"taken\"\n",
             expected: ["6:7: 'end' (2026-12-31) is before 'start' (2027-01-01)", "10:1: 'count' on an 'on' schedule needs 'start'",
                        "11:10: anchor = \"taken\" needs an 'every' schedule"]),
        Case(name: "dosed.toml: zone, unknown keys, defaults", file: "dosed.toml",
             text: "timezone = \"Mars/Olympus\"\n[defaults]\nwindow = \"0\"\nnag = \"5m\"\n[hooks]\non_taken = \"x\"\n",
             expected: ["1:12: unknown time zone 'Mars/Olympus'", "3:10: 'defaults.window' must be longer than zero",
                        "4:1: unknown key 'nag' in [defaults]", "6:1: unknown key 'on_taken' in [hooks]"]),
    ]

    @Test("each malformed file gives its exact positions", arguments: cases)
    func positions(_ c: Case) {
        let file = SourceFile(path: c.file, text: c.text)
        let result = c.file == "dosed.toml"
            ? ConfigDecoder.decode(main: file, medications: [], zones: .foundation())
            : ConfigDecoder.decode(main: nil, medications: [file], zones: .foundation())
        guard case .failure(let errors) = result else {
            Issue.record("\(c.name): accepted")
            return
        }
        let lines = errors.errors.map { "\($0.line):\($0.column): \($0.message)" }
        #expect(lines.count == c.expected.count, "\(lines)")
        for (line, expected) in zip(lines, c.expected) {
            #expect(line.hasPrefix(expected), "got \(line)")
        }
        #expect(errors.errors.allSatisfy { $0.file == c.file })
    }

    @Test("errors of several files come together, in file order")
    func allFiles() {
        let result = ConfigDecoder.decode(
            main: SourceFile(path: "dosed.toml", text: "timezone = 1\n"),
            medications: [SourceFile(path: "medications/b.toml", text: "x = 1\n"),
                          SourceFile(path: "medications/a.toml", text: "name = \"A\"\n[[schedule]]\nid = \"s\"\non = \"nope\"\n")],
            zones: .foundation())
        guard case .failure(let errors) = result else {
            Issue.record("accepted")
            return
        }
        #expect(errors.description.split(separator: "\n").map { String($0.prefix(while: { $0 != " " })) } == [
            "dosed.toml:1:12:", "medications/a.toml:4:7:", "medications/b.toml:1:1:", "medications/b.toml:1:1:",
        ])
    }

    @Test("the example config is valid")
    func example() throws {
        let config = try configuration([
            "interferon": "name = \"Interferon alfa (Intron A)\"\n[[schedule]]\nid = \"evening\"\non = \"Mon,Wed,Fri 20:00\"\nbefore = [\"30m\"]\n",
        ], main: "timezone = \"Europe/London\"\n[defaults]\nwindow = \"2h\"\n")
        let schedule = try #require(config.medication("interferon")?.schedule("evening"))
        #expect(schedule.before == [30 * Civil.minute])
        #expect(schedule.window == 2 * Civil.hour)
        #expect(config.zone.identifier == "Europe/London")
    }
}
