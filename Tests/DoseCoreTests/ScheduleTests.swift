import DoseCore
import Testing

/// A configuration from medication files' texts (file name → TOML), in `zone` by default.
func configuration(_ medications: [String: String], main: String? = nil, zone: String = "Europe/London") throws -> Configuration {
    let files = medications.map { SourceFile(path: "medications/\($0.key).toml", text: $0.value) }
    let result = ConfigDecoder.decode(
        main: main.map { SourceFile(path: "dosed.toml", text: $0) }, medications: files,
        zones: .foundation(system: ZoneRules.named(zone)!))
    switch result {
    case .success(let config): return config
    case .failure(let errors): throw errors
    }
}

/// The due times (RFC 3339 UTC) of every schedule, after `after`.
func due(_ config: Configuration, after: String, count: Int, filter: ScheduleFilter = .all,
         lastTaken: Micros? = nil) -> [String] {
    config.upcoming(after: at(after), count: count, filter: filter, lastTaken: { _, _ in lastTaken }).map { RFC3339.utc($0.due) }
}

@Suite("Schedules: every, cycles, counts, bounds, pauses (SPEC 3)")
struct ScheduleTests {
    static let il2 = """
        name = "Aldesleukin"
        [[schedule]]
        id = "course"
        every = "8h"
        first = 2026-12-01T08:00:00
        cycle = { doses = 14, off = "9d" }
        count = 28
        """

    @Test("the IL-2 example: two courses of 14 eight-hourly doses, 9 days apart, 28 in all")
    func il2Courses() throws {
        let config = try configuration(["aldesleukin": Self.il2])
        let doses = due(config, after: "2026-01-01T00:00:00Z", count: 100)
        #expect(doses.count == 28)
        #expect(doses.first == "2026-12-01T08:00:00Z")
        #expect(doses[13] == "2026-12-05T16:00:00Z")  // last of course one: 13 × 8 h later
        #expect(doses[14] == "2026-12-14T16:00:00Z")  // 9 days after it
        #expect(doses.last == "2026-12-19T00:00:00Z")
        // Starting in the middle gives the same tail.
        #expect(due(config, after: "2026-12-05T16:00:00Z", count: 2) == ["2026-12-14T16:00:00Z", "2026-12-15T00:00:00Z"])
        #expect(due(config, after: "2026-12-19T00:00:00Z", count: 1) == [])
    }

    @Test("every counts elapsed time: 8 hours apart in UTC across the end of BST")
    func everyAcrossDST() throws {
        let config = try configuration(["x": """
            name = "X"
            [[schedule]]
            id = "q8h"
            every = "8h"
            first = 2026-10-24T22:00:00
            """])
        let doses = due(config, after: "2026-10-24T00:00:00Z", count: 4).map { at($0) }
        #expect(RFC3339.utc(doses[0]) == "2026-10-24T21:00:00Z")  // 22:00 BST
        #expect(zip(doses, doses.dropFirst()).allSatisfy { $1 - $0 == 8 * Civil.hour })
    }

    @Test("cycle { on, off }: half-open periods from start, across a month end")
    func periodCycleOn() throws {
        let config = try configuration(["x": """
            name = "X"
            [[schedule]]
            id = "daily"
            on = "*-*-* 09:00"
            start = 2027-01-29
            cycle = { on = "3d", off = "2d" }
            timezone = "UTC"
            """])
        #expect(due(config, after: "2027-01-01T00:00:00Z", count: 7) == [
            "2027-01-29T09:00:00Z", "2027-01-30T09:00:00Z", "2027-01-31T09:00:00Z",
            "2027-02-03T09:00:00Z", "2027-02-04T09:00:00Z", "2027-02-05T09:00:00Z", "2027-02-08T09:00:00Z",
        ])
    }

    @Test("cycle { on, off } with every: the grid restarts at each period's start")
    func periodCycleEvery() throws {
        let config = try configuration(["x": """
            name = "X"
            [[schedule]]
            id = "q10h"
            every = "10h"
            first = 2027-01-01T00:00:00
            cycle = { on = "1d", off = "1d" }
            timezone = "UTC"
            """])
        #expect(due(config, after: "2026-12-31T00:00:00Z", count: 5) == [
            "2027-01-01T00:00:00Z", "2027-01-01T10:00:00Z", "2027-01-01T20:00:00Z",
            "2027-01-03T00:00:00Z", "2027-01-03T10:00:00Z",
        ])
    }

    @Test("cycle { doses } on a calendar: the next course starts off after the last dose")
    func doseCycleOn() throws {
        let config = try configuration(["x": """
            name = "X"
            [[schedule]]
            id = "d"
            on = "*-*-* 08:00"
            start = 2027-03-01
            cycle = { doses = 2, off = "3d" }
            count = 5
            timezone = "UTC"
            """])
        #expect(due(config, after: "2027-01-01T00:00:00Z", count: 10) == [
            "2027-03-01T08:00:00Z", "2027-03-02T08:00:00Z", "2027-03-05T08:00:00Z", "2027-03-06T08:00:00Z",
            "2027-03-09T08:00:00Z",
        ])
        // From within the second course, the count still knows what came before.
        #expect(due(config, after: "2027-03-05T08:00:00Z", count: 10) == ["2027-03-06T08:00:00Z", "2027-03-09T08:00:00Z"])
    }

    @Test("start and end bound the doses; a date end covers its whole day")
    func bounds() throws {
        let config = try configuration(["x": """
            name = "X"
            [[schedule]]
            id = "evening"
            on = "Mon,Wed,Fri 20:00"
            start = 2026-12-01
            end = 2026-12-07
            """])
        #expect(due(config, after: "2026-11-01T00:00:00Z", count: 10) == [
            "2026-12-02T20:00:00Z", "2026-12-04T20:00:00Z", "2026-12-07T20:00:00Z",
        ])
    }

    @Test("paused schedules have no doses; paused_until resumes on its day")
    func paused() throws {
        let config = try configuration([
            "a": "name = \"A\"\n[[schedule]]\nid = \"s\"\non = \"daily\"\npaused = true\n",
            "b": "name = \"B\"\n[[schedule]]\nid = \"s\"\non = \"*-*-* 12:00\"\npaused_until = 2026-12-03\ntimezone = \"UTC\"\n",
        ])
        #expect(due(config, after: "2026-12-01T00:00:00Z", count: 2) == ["2026-12-03T12:00:00Z", "2026-12-04T12:00:00Z"])
    }

    @Test("anchor = taken: the next dose is due every after the last take")
    func anchorTaken() throws {
        let config = try configuration(["x": """
            name = "X"
            [[schedule]]
            id = "prn"
            every = "6h"
            first = 2026-12-01T08:00:00
            anchor = "taken"
            timezone = "UTC"
            """])
        #expect(due(config, after: "2026-12-01T09:00:00Z", count: 2) == ["2026-12-01T14:00:00Z", "2026-12-01T20:00:00Z"])
        #expect(due(config, after: "2026-12-01T09:00:00Z", count: 2, lastTaken: at("2026-12-01T09:30:00Z"))
            == ["2026-12-01T15:30:00Z", "2026-12-01T21:30:00Z"])
    }

    @Test("an array of expressions is their union; a time due twice is one dose")
    func union() throws {
        let config = try configuration(["x": """
            name = "X"
            [[schedule]]
            id = "twice"
            on = ["*-*-* 08:00", "*-*-* 08,20:00"]
            timezone = "UTC"
            """])
        #expect(due(config, after: "2026-12-01T00:00:00Z", count: 3) == [
            "2026-12-01T08:00:00Z", "2026-12-01T20:00:00Z", "2026-12-02T08:00:00Z",
        ])
    }

    @Test("doses of several medications interleave in time order, with dose ids of SPEC 4")
    func idsAndOrder() throws {
        let config = try configuration([
            "interferon": "name = \"I\"\nsites = [\"a\", \"b\"]\n[[schedule]]\nid = \"evening\"\non = \"Mon,Wed,Fri 20:00\"\n",
            "tablet": "name = \"T\"\n[[schedule]]\nid = \"morning\"\non = \"08:00\"\n",
        ])
        let doses = config.upcoming(after: at("2026-11-29T12:00:00Z"), count: 3)
        let expected = [
            "tablet/morning@2026-11-30T08:00:00Z", "interferon/evening@2026-11-30T20:00:00Z",
            "tablet/morning@2026-12-01T08:00:00Z",
        ]
        #expect(doses.map(\.id) == expected)
        #expect(config.suggestedSites(for: config.upcoming(after: at("2026-11-29T12:00:00Z"), count: 3, filter: .init(medication: "interferon", schedule: nil)))
            == ["a", "b", "a"])
        #expect(DoseID.parse("interferon/evening@2026-11-30T20:00:00Z") == DueDose(medication: "interferon", schedule: "evening", due: at("2026-11-30T20:00:00Z")))
        #expect(DoseID.parse("nonsense") == nil)
    }

    @Test("site rotation suggests the least recently used site, ties in list order")
    func sites() {
        var rotation = SiteRotation(sites: ["abdomen left", "abdomen right", "thigh left"],
                                    lastUsed: ["abdomen left": 10, "thigh left": 5])
        #expect(rotation.suggestion == "abdomen right")
        rotation.use("abdomen right", at: 20)
        #expect(rotation.suggestion == "thigh left")
    }

    @Test("durations", arguments: [("1h30m", 90 * Civil.minute), ("2d", 2 * Civil.day), ("1w", 7 * Civil.day), ("0", 0), ("45s", 45 * Civil.second)])
    func durations(_ text: String, _ micros: Micros) throws {
        #expect(try DurationText.parse(text).get() == micros)
        #expect(DurationText.format(micros) == text)
    }

    @Test("bad durations", arguments: ["", "h", "10", "1x", "1.5h", "-1h", "1 h"])
    func badDurations(_ text: String) {
        #expect(throws: DurationError.self) { try DurationText.parse(text).get() }
    }
}
