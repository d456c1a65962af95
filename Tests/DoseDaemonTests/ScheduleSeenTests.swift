import DoseCore
@testable import DoseDaemon
import Foundation
import Testing

/// dosectl's reports count a schedule without `start` from when the daemon first saw it: the
/// daemon notes each schedule at start and at each reload (off the engine's way), and keeps the
/// first time it saw it.
@Suite("Schedules seen")
struct ScheduleSeenTests {
    @Test("start notes every schedule; a reload notes a new one and keeps the first time of the others")
    func noted() throws {
        let schedule = """
            name = "Demo"
            [[schedule]]
            id = "s"
            on = "*-*-* 08:00"
            """
        let before = Daemon.now()
        let (daemon, paths, root) = try startedEngine(demo: schedule)
        defer { try? FileManager.default.removeItem(at: root) }
        Daemon.housekeeping.sync {}
        let started = try #require(daemon.store).firstSeen()
        let first = try #require(started["demo/s"])
        #expect(started.count == 1 && first >= before && first <= Daemon.now())

        try (schedule + "\n[[schedule]]\nid = \"t\"\non = \"*-*-* 20:00\"\n")
            .write(toFile: paths.config + "/medications/demo.toml", atomically: true, encoding: .utf8)
        let reloaded = Daemon.now()
        // The reload sees the schedules later than the start did, so keeping `s`'s first time
        // and taking the reload's for `t` are told apart.
        #expect(reloaded > first)
        _ = daemon.queue.sync { daemon.reload() }
        Daemon.housekeeping.sync {}
        let seen = try #require(daemon.store).firstSeen()
        #expect(seen["demo/s"] == first)
        #expect((seen["demo/t"] ?? 0) >= reloaded)
    }
}
