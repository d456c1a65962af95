import DoseCore
import Testing

/// Medicines taken as needed within safe limits (SPEC 10), with plain instants.
@Suite("As needed (SPEC 10)")
struct AsNeededTests {
    static let paracetamol = """
        name = "Paracetamol"
        dose = "1 g"
        stock = 10
        [as_needed]
        min_interval = "4h"
        max = { doses = 4, per = "24h" }
        reason = "fever"
        """

    static func rule() throws -> AsNeeded {
        try #require(try configuration(["paracetamol": paracetamol], zone: "UTC").medication("paracetamol")?.asNeeded)
    }

    @Test("min_interval is exact at its boundary: a take exactly 4h after the last is allowed, a microsecond earlier is not")
    func interval() throws {
        let rule = try Self.rule()
        let takes = [at("2026-12-01T13:05:00Z")]
        let before = rule.availability(takes: takes, now: at("2026-12-01T17:05:00Z") - 1)
        #expect(before.from == at("2026-12-01T17:05:00Z") && before.limit == .interval && before.takenInPeriod == 1)
        #expect(rule.availability(takes: takes, now: at("2026-12-01T17:05:00Z")).isAllowed)
    }

    @Test("max counts takes in any rolling 24h: the fifth waits until the first is 24h old")
    func maximum() throws {
        let rule = try Self.rule()
        let takes = ["00:00", "04:00", "08:00", "12:00"].map { at("2026-12-01T\($0):00Z") }
        let refused = rule.availability(takes: takes, now: at("2026-12-01T20:00:00Z"))
        #expect(refused.from == at("2026-12-02T00:00:00Z") && refused.limit == .maximum && refused.takenInPeriod == 4)
        #expect(rule.availability(takes: takes, now: at("2026-12-02T00:00:00Z") - 1).isAllowed == false)
        let allowed = rule.availability(takes: takes, now: at("2026-12-02T00:00:00Z"))
        #expect(allowed.isAllowed && allowed.takenInPeriod == 3)
    }

    @Test("limits run in elapsed time: across the end of BST a take 4 hours later is allowed though the wall clock moved 3")
    func clockChange() throws {
        let config = try configuration(["paracetamol": Self.paracetamol], zone: "Europe/London")
        var machine = ReminderMachine(config: config, snapshot: .init(lastAlive: at("2026-10-24T12:00:00Z")), now: at("2026-10-24T12:00:00Z"))
        // 01:30 BST, then the clocks go back at 02:00 BST to 01:00 GMT.
        _ = try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("paracetamol"), now: at("2026-10-25T00:30:00Z")).get()
        let refused = machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("paracetamol"), now: at("2026-10-25T04:29:59Z"))
        guard case .failure(let error) = refused else { Issue.record("allowed 3h59m later"); return }
        // 04:30 UTC is 04:30 GMT on the wall: 4 hours after 01:30 BST, not 3.
        #expect(error.code == .limitReached && error.message == "Paracetamol: taken at 01:30; next from 04:30 (at least 4h apart)")
        #expect(try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("paracetamol"), now: at("2026-10-25T04:30:00Z")).get()
            .0.id == "paracetamol/as-needed@2026-10-25T04:30:00Z")
    }

    @Test("a refusal changes nothing; force records it with a limit-exceeded event; every take counts, scheduled ones too")
    func machine() throws {
        let text = Self.paracetamol + "\n" + """
            [[schedule]]
            id = "am"
            on = "*-*-* 08:00"
            """
        let config = try configuration(["paracetamol": text], zone: "UTC")
        let start = at("2026-12-01T07:00:00Z")
        var machine = ReminderMachine(config: config, snapshot: .init(lastAlive: start), now: start)
        _ = machine.start(now: start)
        _ = machine.advance(to: at("2026-12-01T08:00:00Z"))
        // The scheduled 08:00 dose, taken: never refused, and it counts.
        let (scheduled, _) = try machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("paracetamol"),
                                                now: at("2026-12-01T08:01:00Z")).get()
        #expect(scheduled.id == "paracetamol/am@2026-12-01T08:00:00Z")
        #expect(machine.stock["paracetamol"]?.value == 9)
        let refused = machine.answer(.take(at: nil, site: nil, note: nil), for: .medication("paracetamol"), now: at("2026-12-01T09:00:00Z"))
        guard case .failure(let error) = refused else { Issue.record("not refused"); return }
        #expect(error.message == "Paracetamol: taken at 08:01; next from 12:01 (at least 4h apart)")
        #expect(error.availability?.from == at("2026-12-01T12:01:00Z"))
        #expect(machine.stock["paracetamol"]?.value == 9)
        let (forced, actions) = try machine.answer(.take(at: nil, site: nil, note: "39.5°C"), for: .medication("paracetamol"),
                                                   now: at("2026-12-01T09:00:00Z"), force: true).get()
        #expect(forced.id == "paracetamol/as-needed@2026-12-01T09:00:00Z" && forced.state == .taken)
        let events = actions.compactMap(\.event)
        #expect(events.map(\.kind) == [.taken, .limitExceeded])
        #expect(events.last?.error == "Paracetamol: taken at 08:01; next from 12:01 (at least 4h apart)")
        #expect(machine.stock["paracetamol"]?.value == 8)
        // As-needed takes never count in adherence.
        #expect(Tally.outcome(forced, now: at("2026-12-02T00:00:00Z")) == nil)
        #expect(machine.availability("paracetamol", now: at("2026-12-01T13:00:00Z"))?.from == nil)
        #expect(machine.availability("paracetamol", now: at("2026-12-01T13:00:00Z"))?.takenInPeriod == 2)
    }

    @Test("bad [as_needed] tables are FILE:LINE:COLUMN errors saying why")
    func errors() {
        func errors(_ table: String) -> [String] {
            let result = ConfigDecoder.decode(main: nil, medications: [SourceFile(path: "p.toml", text: "name = \"P\"\n[as_needed]\n" + table)],
                                              zones: .foundation())
            guard case .failure(let errors) = result else { return [] }
            return errors.errors.map(\.description)
        }
        #expect(errors("reason = \"x\"\n") == ["p.toml:2:1: [as_needed] needs a 'min_interval' (the least time between two takes)"])
        #expect(errors("min_interval = \"0\"\n") == ["p.toml:3:16: 'as_needed.min_interval' must be longer than zero"])
        #expect(errors("min_interval = \"4h\"\nmax = { doses = 0, per = \"24h\" }\n")
            == ["p.toml:4:17: 'as_needed.max.doses' must be 1 to 1000, not 0"])
        #expect(errors("min_interval = \"4h\"\nmax = { doses = 6, per = \"24h\" }\n") == [
            "p.toml:4:17: 'max' can never refuse a take: with min_interval 4h there are at most 6 takes in 24h already; lower 'doses' or leave 'max' out",
        ])
        #expect(errors("min_interval = \"4h\"\nmax = { doses = 5, per = \"24h\" }\n").isEmpty)
        #expect(errors("min_interval = \"4h\"\nmax = { doses = 3 }\n")
            == ["p.toml:4:1: 'max' needs 'doses' and 'per', e.g. { doses = 4, per = \"24h\" }"])
        let reserved = ConfigDecoder.decode(main: nil, medications: [SourceFile(path: "p.toml", text: """
            name = "P"
            [[schedule]]
            id = "as-needed"
            on = "daily"
            """)], zones: .foundation())
        #expect(throws: ConfigErrors.self) { try reserved.get() }
    }
}
