import DoseCore
import Foundation
import Testing

/// SPEC 4's reference: `systemd-analyze calendar --iterations=N --base-time=T` with `TZ=` set.
/// Every instant systemd gives must be ours; every instant of ours that systemd lacks must be a
/// matching wall time systemd skipped, checked here independently of the engine: offsets through
/// Foundation's TimeZone, matches by systemd itself in UTC.
@Suite("Differential: systemd-analyze calendar")
struct SystemdDifferentialTests {
    static let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    static let expressions = [
        "daily", "hourly", "weekly", "monthly", "quarterly", "semiannually", "yearly", "minutely",
        "*-*-* 02:30", "*-*-* 01:30", "*-*-* 02:00", "*-*-* 03:00", "*-*-* 00:00", "*-*-* 00:30",
        "Mon,Wed,Fri 20:00", "Mon..Fri 08:00", "Sat,Sun 10:30", "Mon-Wed 1:2:3", "Sun 02:30",
        "*:0/15", "*:0/20", "*-*-* *:30", "*-*-* 01..03:00/10", "*-*-* 02:15,35", "0/3:00",
        "*-*-* 02,03:45", "*-*-* 02:50", "*-*-* 03:50", "*-*-* 01:59:59", "*-*-* 02:59:59.5",
        "*-*-1/2 12:00", "*-02-29 09:00", "*-*~01 18:00", "*-*~01..03 07:00", "*-*~01..03/2 05:00", "*-02~03 00:00",
        "*-*~07/2 06:00", "2026-*-* 12:00", "2026..2027-01..03-01 00:00", "*-1,4,7,10-15 02:00",
        "Fri *-*-13 13:13", "Sun *-*-1..7 02:00", "*-*-* 02:30:15.25", "*:*:0/20",
        "Mon..Sun *-*-* 23:59:59", "*-*-* 12:00 UTC", "*-*-* 02:30 America/New_York",
        "*-*-* 02:30 Europe/London", "12-25 07:00", "*-*-* 8,20:00", "Tue,Thu *-*-* 00/6:15",
    ]

    /// A deterministic corpus of generated expressions, around the hours clocks change.
    static let generated: [String] = {
        var seed: UInt64 = 0x5EED_D05E
        func pick<T>(_ choices: [T]) -> T {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return choices[Int((seed >> 33) % UInt64(choices.count))]
        }
        let weekdays = ["", "", "", "Mon ", "Sat,Sun ", "Mon..Fri ", "Tue,Thu ", "Fri..Sun ", "Sun "]
        let dates = ["", "*-*-* ", "*-*-1/2 ", "*-*-1..7 ", "*-*~01 ", "*-*~03/1 ", "*-02,03-* ", "*-*-15 ",
                     "*-1/3-1 ", "2026..2028-*-* ", "*-03,04,09,10,11-* ", "*-10~07/1 "]
        let hours = ["*", "0", "1", "2", "3", "1,2,3", "0..4", "0/3", "1..5/2", "20", "23", "2,14"]
        let minutes = ["00", "30", "0/15", "0/20", "*", "45", "5..55/10", "15,45", "59"]
        let seconds = ["", "", ":00", ":30", ":0/30", ":15.5"]
        var corpus: [String] = []
        var seen: Set<String> = []
        while corpus.count < 200 {
            let text = pick(weekdays) + pick(dates) + pick(hours) + ":" + pick(minutes) + pick(seconds)
            if seen.insert(text).inserted { corpus.append(text) }
        }
        return corpus
    }()

    static let zones = [
        "Europe/London", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "UTC",
        "Asia/Tokyo", "America/Sao_Paulo", "Asia/Kolkata",
    ]

    /// Base times: around each 2026 transition of the zone, and some ordinary days.
    static func baseTimes(for zoneName: String) -> [Int64] {
        let zone = TimeZone(identifier: zoneName)!
        var bases: [Int64] = [1_781_524_800, 1_709_078_400]  // 2026-06-15 12:00Z, 2024-02-28 00:00Z
        var cursor = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01
        for _ in 0..<2 {
            guard let transition = zone.nextDaylightSavingTimeTransition(after: cursor) else { break }
            let t = Int64(transition.timeIntervalSince1970)
            bases += [t - 2 * 86_400, t - 3600, t - 60, t + 1800]
            cursor = transition
        }
        // Sao Paulo's last DST change (2019-02-17) and first spring-forward at midnight (2018-11-04).
        if zoneName == "America/Sao_Paulo" { bases += [1_541_296_800 - 7200, 1_550_368_800 - 7200] }
        return bases
    }

    static let iterations = 30

    @Test("agrees with systemd-analyze", .enabled(if: analyze != nil), arguments: zones)
    func agrees(zoneName: String) throws {
        let rules = try #require(ZoneRules.named(zoneName))
        let texts = Self.expressions + Self.generated
        let parsed = try texts.map { try CalendarExpression(parsing: $0, zones: machineZones) }
        var compared = 0
        var explained = 0
        var repeats = 0
        for base in Self.baseTimes(for: zoneName) {
            var reference = try Self.systemd(texts, zone: zoneName, base: base).map { Optional($0) }
            if reference.count != texts.count {
                // systemd gave up on some expression (its "infinite loop" guard): ask one by one.
                reference = try texts.map { try Self.systemd([$0], zone: zoneName, base: base).first }
            }
            for (expression, answer) in zip(parsed, reference) {
                guard let theirs = answer else { continue }
                var ours: [Int64] = []
                var cursor = base * 1_000_000
                let zone = expression.zoneIdentifier.flatMap(ZoneRules.named) ?? rules
                while ours.count < Self.iterations, let next = expression.next(after: cursor, in: zone) {
                    ours.append(next)
                    cursor = next
                }
                let context = "'\(expression.source)' TZ=\(zoneName) base=@\(base)"
                let oursSeconds = ours.map { Civil.floorDiv($0, 1_000_000) }
                let oursSet = Set(oursSeconds)
                // Everything systemd names (within our horizon) is ours.
                let horizon = ours.count == Self.iterations ? oursSeconds.last! : Int64.max
                for t in theirs where t <= horizon && !oursSet.contains(t) {
                    #expect(try Self.isRepeatOfEarlierDose(t * 1_000_000, before: base * 1_000_000, ours: oursSet, expression: expression, zone: zone.identifier),
                            "\(context): systemd gives @\(t), we do not")
                    repeats += 1
                }
                // Everything of ours within systemd's horizon is systemd's, or a wall time it skipped.
                let theirHorizon = theirs.count == Self.iterations ? theirs.last! : Int64.max
                let theirSet = Set(theirs)
                for (t, micros) in zip(oursSeconds, ours) where t <= theirHorizon && !theirSet.contains(t) {
                    #expect(try Self.isSkippedMatch(micros, expression: expression, zone: zone.identifier),
                            "\(context): we give \(RFC3339.utc(micros)), systemd does not, and it is no skipped match")
                    explained += 1
                }
                // Strictly increasing, strictly after the base.
                #expect(zip(ours, ours.dropFirst()).allSatisfy { $0 < $1 }, "\(context): not increasing")
                #expect(ours.first.map { $0 > base * 1_000_000 } ?? true, "\(context): not after the base")
                compared += theirs.count
            }
        }
        #expect(compared > 10_000)
        if zoneName == "Pacific/Chatham" || zoneName == "America/New_York" {
            #expect(explained > 0, "the corpus reaches times systemd skips")
        }
        if zoneName == "America/New_York" {
            #expect(repeats > 0, "the corpus reaches repeated times systemd fires twice")
        }
    }

    /// Independently of the engine: is `instant` the second occurrence of a matching wall time whose
    /// first occurrence is due already (at or before `base`, or among `ours`)? systemd sometimes fires
    /// a repeated wall time again on its second pass; SPEC 4 makes it one dose, at the first.
    static func isRepeatOfEarlierDose(
        _ instant: Int64, before base: Int64, ours: Set<Int64>, expression: CalendarExpression, zone name: String
    ) throws -> Bool {
        let zone = TimeZone(identifier: name)!
        func offset(_ micros: Int64) -> Int64 {
            Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(micros) / 1e6))) * 1_000_000
        }
        let wall = instant + offset(instant)
        guard try matches(wall, expression) else { return false }
        let earlierOffset = offset(instant - 86_400_000_000)
        let first = wall - earlierOffset
        let precise = wall - offset(instant)
        return first < precise && offset(first) == earlierOffset
            && (first <= base || ours.contains(Civil.floorDiv(first, 1_000_000)))
    }

    /// Independently of the engine: does the expression match a wall time within the second of
    /// `wall` (local microseconds)? Asked of systemd in UTC, where no wall time is skipped or
    /// repeated: its next elapse after the second before must fall in that second.
    static func matches(_ wall: Int64, _ expression: CalendarExpression) throws -> Bool {
        let second = Civil.floorDiv(wall, 1_000_000)
        var text = expression.source
        if expression.zoneIdentifier != nil, let space = text.lastIndex(of: " ") { text = String(text[..<space]) }
        return try systemd([text], zone: "UTC", base: second - 1).first?.first == second
    }

    /// Independently of the engine: is `instant` a matching wall time that systemd skips — an
    /// existing wall time (first occurrence), or a gap time fired at the offset before the gap?
    static func isSkippedMatch(_ instant: Int64, expression: CalendarExpression, zone name: String) throws -> Bool {
        let zone = TimeZone(identifier: name)!
        func offset(_ micros: Int64) -> Int64 {
            Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(micros) / 1e6))) * 1_000_000
        }
        let here = offset(instant)
        let wall = instant + here
        if try matches(wall, expression) {
            // A first occurrence: no earlier instant shows the same wall time.
            let earlier = wall - offset(instant - 86_400_000_000)
            return !(earlier < instant && offset(earlier) == wall - earlier)
        }
        // A gap time: read at the offset before the gap, a wall time that never shows.
        let before = offset(instant - 86_400_000_000)
        let gapWall = instant + before
        guard before < here, try matches(gapWall, expression) else { return false }
        let asBefore = gapWall - before
        let asAfter = gapWall - here
        return offset(asBefore) != before && offset(asAfter) != here
    }

    /// systemd's next elapses (seconds since the epoch) for each expression.
    static func systemd(_ expressions: [String], zone: String, base: Int64) throws -> [[Int64]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: analyze!)
        process.arguments = ["calendar", "--iterations=\(iterations)", "--base-time=@\(base)"] + expressions
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = ":" + zone
        environment["SYSTEMD_COLORS"] = "0"
        environment["SYSTEMD_PAGER"] = "cat"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var blocks: [[Int64]] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("Normalized form:") {
                blocks.append([])
            } else if text.hasPrefix("(in UTC):") || (zone == "UTC" && (text.hasPrefix("Next elapse:") || text.hasPrefix("Iter. #"))) {
                // (in UTC): Mon 2026-11-30 20:00:00 UTC — systemd leaves it out when the zone is UTC.
                let parts = text.split(separator: " ")
                guard parts.count >= 5 else { continue }
                let stamp = "\(parts[parts.count - 3])T\(parts[parts.count - 2])Z"
                guard let micros = RFC3339.parse(stamp) else { continue }
                blocks[blocks.count - 1].append(micros / 1_000_000)
            }
        }
        return blocks
    }
}
