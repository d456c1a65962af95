import DoseCore
import Foundation
import Testing

/// Defects found when dosed was tried as a new user would and attacked as a tester would
/// (issues #9 and #10), each pinned at the core where it was fixed.
@Suite("Robustness of the core")
struct RobustnessTests {
    static let interferon = SourceFile(path: "medications/interferon.toml", text: """
        name = "Interferon"
        [[schedule]]
        id = "evening"
        on = "*-*-* 20:00"
        """)

    // MARK: - Files load one by one (SPEC 5)

    @Test("a broken medication file never takes the others with it; its previous version stays in force")
    func perFile() throws {
        // Given a valid interferon file and a paracetamol file with a typo
        let goodPara = SourceFile(path: "medications/paracetamol.toml", text: "name = \"Paracetamol\"\n")
        let badPara = SourceFile(path: "medications/paracetamol.toml", text: "name = \"Paracetamol\"\nbogus = 1\n")
        // When loaded at a first start
        let first = ConfigDecoder.load(main: nil, medications: [Self.interferon, badPara], zones: .foundation())
        // Then interferon is in force, paracetamol left out, and the error is named
        #expect(first.configuration.medications.map(\.id) == ["interferon"])
        #expect(first.refused == ["medications/paracetamol.toml"])
        #expect(first.kept.isEmpty)
        #expect(first.errors.map(\.description) == [
            "medications/paracetamol.toml:2:1: unknown key 'bogus' in a medication file (known: name, dose, route, sites, stock, refill_at, refill_days, notes, schedule, as_needed)",
        ])
        #expect(first.warning?.contains("medications/paracetamol.toml") == true)
        // When it breaks after a valid version was loaded, that version stays
        let valid = ConfigDecoder.load(main: nil, medications: [Self.interferon, goodPara], zones: .foundation())
        #expect(valid.isValid)
        let reloaded = ConfigDecoder.load(main: nil, medications: [Self.interferon, badPara], zones: .foundation(),
                                          previous: valid.configuration)
        #expect(reloaded.configuration.medications.map(\.id) == ["interferon", "paracetamol"])
        #expect(reloaded.kept == ["medications/paracetamol.toml"])
        #expect(!reloaded.isValid)
    }

    @Test("a large config dir (decoded on every core) loads exactly as its files one by one, in id order")
    func largeDirectory() throws {
        // Given 300 medication files, given in reverse order, every seventh with a typo
        let files = (0..<300).reversed().map { i in
            SourceFile(path: "medications/m\(String(format: "%03d", i)).toml", text: """
                name = "M\(i)"\(i % 7 == 0 ? "\nbogus = 1" : "")
                [[schedule]]
                id = "s"
                on = "*-*-* \(String(format: "%02d", i % 24)):00"
                """)
        }
        // When loaded together
        let load = ConfigDecoder.load(main: nil, medications: files, zones: .foundation())
        // Then the valid ones are in force in id order, each as it decodes alone
        let alone = files.sorted { $0.path < $1.path }.compactMap { try? ConfigDecoder.medication($0, defaults: .init(), zones: .foundation()).get() }
        #expect(alone.count == 300 - 43)
        #expect(load.configuration.medications.map(\.id) == alone.map(\.id))
        let identical = load.configuration.medications == alone
        #expect(identical)
        // And every broken one is refused with its own error, in file order
        #expect(load.refused == files.map(\.path).sorted().enumerated().filter { $0.offset % 7 == 0 }.map(\.element))
        #expect(load.errors.map(\.file) == load.refused)
    }

    @Test("a broken dosed.toml keeps its previous version (the defaults at a first start); medications still load")
    func brokenMain() throws {
        let good = SourceFile(path: "dosed.toml", text: "timezone = \"Europe/Paris\"\n[defaults]\nwindow = \"3h\"\n")
        let bad = SourceFile(path: "dosed.toml", text: "timezone = \"Europe/Paris\"\n[defaults]\nwindow = \"3h\"\nnag = 1\n")
        let first = ConfigDecoder.load(main: bad, medications: [Self.interferon], zones: .foundation())
        #expect(first.configuration.timezone == nil)
        #expect(first.configuration.medication("interferon")?.schedule("evening")?.window == 2 * Civil.hour)
        #expect(first.refused == ["dosed.toml"])
        let valid = ConfigDecoder.load(main: good, medications: [Self.interferon], zones: .foundation()).configuration
        let reloaded = ConfigDecoder.load(main: bad, medications: [Self.interferon], zones: .foundation(), previous: valid)
        #expect(reloaded.configuration.timezone == "Europe/Paris")
        #expect(reloaded.configuration.medication("interferon")?.schedule("evening")?.window == 3 * Civil.hour)
    }

    @Test("an unreadable or misnamed file is refused alone")
    func unreadable() {
        let load = ConfigDecoder.load(
            main: nil,
            medications: [Self.interferon, SourceFile(path: "medications/x.toml", problem: "the file is not UTF-8 text"),
                          SourceFile(path: "medications/Bad Name.toml", text: "name = \"B\"\n")],
            zones: .foundation())
        #expect(load.configuration.medications.map(\.id) == ["interferon"])
        #expect(Set(load.refused) == ["medications/x.toml", "medications/Bad Name.toml"])
    }

    // MARK: - Numbers from users are range-checked (no trap)

    @Test("durations longer than ten years are refused, whatever their digits", arguments: [
        "1000000000w", "999999999d", "3651d", "521w4d", "99999999999999999999s", "1000000000w1000000000w",
    ])
    func longDurations(_ text: String) {
        guard case .failure(let error) = DurationText.parse(text) else {
            Issue.record("\(text) accepted")
            return
        }
        #expect(error.description.contains("3650d"))
    }

    @Test("the longest duration is accepted")
    func longestDuration() throws {
        #expect(try DurationText.parse("3650d").get() == DurationText.maximum)
        #expect(try DurationText.parse("521w3d").get() == DurationText.maximum)
    }

    @Test("a time given is within 1970 to 2199 in any zone, and formatting a year outside it never traps")
    func timeInputRange() throws {
        let chatham = try #require(ZoneRules.named("Pacific/Chatham"))
        let now = try #require(RFC3339.parse("2026-11-30T12:00:00Z"))
        // Year 0 in a zone ahead of UTC was year -1 in UTC, which formatting trapped on (a fuzz finding).
        for text in ["0000-01-01", "0000-01-01T00:00:00Z", "1969-12-31 23:59", "2200-01-02", "9999-12-31T23:59:59Z"] {
            #expect(TimeInput.parse(text, zone: chatham, now: now) == nil, "\(text)")
            #expect(TimeInput.parse(text, zone: .utc, now: now) == nil, "\(text)")
        }
        #expect(TimeInput.parse("1970-01-01", zone: .utc, now: now) == 0)
        #expect(TimeInput.parse("2199-12-31T23:59:59Z", zone: .utc, now: now) == TimeInput.range.upperBound - 999_999)
        #expect(TimeInput.parse("3650d", zone: .utc, now: 100 * Civil.day, allowsDuration: true) == nil)
        #expect(TimeInput.expected().hasSuffix("from 1970 to 2199"))
        #expect(RFC3339.utc(-Civil.day) == "1969-12-31T00:00:00Z")
        #expect(RFC3339.utc(WallTime(year: -1, month: 12, day: 31).local) == "-0001-12-31T00:00:00Z")
        #expect(RFC3339.utc(WallTime(year: -99_999, month: 1, day: 1).local) == "-99999-01-01T00:00:00Z")
        #expect(RFC3339.local(WallTime(year: 99_999, month: 12, day: 31, hour: 23).local + 123_456, offset: 50_400)
            == "100000-01-01T13:00:00.123456+14:00")
    }

    @Test("out-of-range numbers in a file are FILE:LINE:COLUMN errors naming the range")
    func fileRanges() {
        let text = """
            name = "X"
            stock = 9223372036854775807
            [[schedule]]
            id = "a"
            every = "999999999d"
            first = 2026-12-01T08:00:00
            window = "1000000000w"
            count = 1000000
            """
        let load = ConfigDecoder.load(main: nil, medications: [SourceFile(path: "m/x.toml", text: text)], zones: .foundation())
        let lines = load.errors.map(\.description)
        #expect(lines.contains { $0.hasPrefix("m/x.toml:2:9: 'stock' must be 0 to 1000000") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("m/x.toml:5:9: bad duration for 'schedule[0].every'") && $0.contains("3650d") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("m/x.toml:7:10: bad duration for 'schedule[0].window'") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("m/x.toml:8:9: 'schedule[0].count' must be 1 to 100000") }, "\(lines)")
    }

    @Test("stock: refills are range-checked before any addition")
    func stockLimits() throws {
        let config = try configuration(["tablet": "name = \"T\"\nstock = 5\n"])
        var machine = ReminderMachine(config: config, snapshot: .init(), now: 0)
        _ = machine.start(now: 0)
        func refused(_ amount: Int, add: Bool) -> Bool {
            var copy = machine
            if case .failure = copy.refill("tablet", amount: amount, add: add, now: at("2026-11-30T12:00:00Z")) { return true }
            return false
        }
        #expect(refused(8_999_999_999_999_999, add: true))
        #expect(refused(-100, add: true))
        #expect(refused(Int.max, add: false))
        _ = try machine.refill("tablet", amount: Limits.stock, add: false, now: at("2026-11-30T12:00:00Z")).get()
        #expect(refused(1, add: true))
        #expect(machine.stock["tablet"]?.value == Limits.stock)
    }

    @Test("a due time before 1970 in a zone ahead of UTC, with a cycle, is computed, not trapped")
    func before1970() throws {
        let config = try configuration(["a": """
            name = "A"
            [[schedule]]
            id = "x"
            every = "8h"
            first = 1970-01-01T00:00:00
            cycle = { doses = 3, off = "1d" }
            timezone = "Asia/Tokyo"
            """])
        let doses = config.upcoming(after: -Civil.day, count: 4)
        #expect(doses.map { RFC3339.utc($0.due) } == [
            "1969-12-31T15:00:00Z", "1969-12-31T23:00:00Z", "1970-01-01T07:00:00Z", "1970-01-02T07:00:00Z",
        ])
        var machine = ReminderMachine(config: config, snapshot: .init(), now: 0)
        _ = machine.start(now: 0)
        #expect(machine.nextDeadline() != nil)
    }

    // MARK: - anchor = "taken": one decision for daemon and CLI

    @Test("after an early take, the machine's upcoming doses follow the take, as dosectl next does")
    func anchorTaken() throws {
        let config = try configuration(["pump": """
            name = "Pump"
            [[schedule]]
            id = "hourly"
            every = "1h"
            first = 2026-11-30T12:00:00
            anchor = "taken"
            timezone = "UTC"
            """])
        var machine = ReminderMachine(config: config, snapshot: .init(lastAlive: at("2026-11-30T12:10:00Z")), now: at("2026-11-30T12:10:00Z"))
        _ = machine.start(now: at("2026-11-30T12:10:00Z"))
        let taken = try machine.answer(.take(at: at("2026-11-30T12:05:00Z"), site: nil, note: nil),
                                       for: .medication("pump"), now: at("2026-11-30T12:10:00Z")).get().0
        #expect(taken.id == "pump/hourly@2026-11-30T12:00:00Z")
        let next = machine.upcoming(after: at("2026-11-30T12:10:00Z"), count: 1).first
        #expect(next.map { RFC3339.utc($0.due) } == "2026-11-30T13:05:00Z")
        // The same function with the store's last takes (what dosectl next uses) agrees.
        let cli = config.upcoming(after: at("2026-11-30T12:10:00Z"), count: 1) { _, _ in at("2026-11-30T12:05:00Z") }
        #expect(cli == machine.upcoming(after: at("2026-11-30T12:10:00Z"), count: 1))
        #expect(machine.nextDeadline() == at("2026-11-30T13:05:00Z"))
    }

    // MARK: - Snooze (SPEC 5 as amended)

    @Test("snooze ends a minute before the window closes, half the window before it under two minutes", arguments: [
        // (window s, snooze s, seconds after due, expected end after due, or nil: too late)
        (7200, 900, 60, 960 as Int?), (7200, 86400, 60, 7140), (90, 60, 5, 45), (90, 10, 5, 15),
        (60, 3600, 0, 30), (60, 3600, 31, nil), (7200, 60, 7150, nil),
    ])
    func snoozeEnd(_ c: (Int, Int, Int, Int?)) {
        let due = at("2026-11-30T20:00:00Z")
        let end = ReminderMachine.snoozeEnd(now: due + Micros(c.2) * Civil.second, span: Micros(c.1) * Civil.second,
                                            closes: due + Micros(c.0) * Civil.second, window: Micros(c.0) * Civil.second)
        #expect(end.map { ($0 - due) / Civil.second } == c.3.map(Micros.init))
    }

    @Test("a snooze of an enormous span cannot overflow")
    func snoozeHuge() {
        #expect(ReminderMachine.snoozeEnd(now: 0, span: .max, closes: Civil.hour, window: Civil.hour) == 59 * Civil.minute)
    }
}

extension RobustnessTests {
    @Test("counting a calendar schedule from 1970 is refused at its 'start', in bounded time; a near one is accepted")
    func countingBudget() {
        let now = at("2026-11-30T12:00:00Z")
        let far = SourceFile(path: "m/x.toml", text: "name = \"X\"\n[[schedule]]\nid = \"a\"\non = \"*:*:*\"\nstart = 1970-01-01\ncycle = { doses = 3, off = \"1s\" }\n")
        let load = ConfigDecoder.load(main: nil, medications: [far], zones: .foundation(), now: now)
        #expect(load.errors.map(\.description).first?.hasPrefix("m/x.toml:5:1: counting the doses of schedule 'a' from 'start'") == true, "\(load.errors)")
        let near = SourceFile(path: "m/y.toml", text: "name = \"Y\"\n[[schedule]]\nid = \"a\"\non = \"*-*-* 08,20:00\"\nstart = 2020-01-01\ncycle = { doses = 14, off = \"9d\" }\n")
        let ok = ConfigDecoder.load(main: nil, medications: [near], zones: .foundation(), now: now)
        #expect(ok.isValid)
        // The same schedule's doses from checkpoints agree with a walk from its start.
        let config = ok.configuration
        let late = config.upcoming(after: now, count: 30)
        let walked = Array(config.upcoming(after: at("2019-12-31T00:00:00Z"), count: 6000).filter { $0.due > now }.prefix(30))
        #expect(late == walked)
    }
}
