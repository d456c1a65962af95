import DoseCore
@testable import DoseDaemon
import Foundation
import Testing

/// `status` shows the next dose from the last re-arm's plan while it holds; it must always be
/// the dose `upcoming` lists first, also right after an answer moves an `anchor = "taken"` schedule.
@Suite("The next dose in status")
struct StatusNextTests {
    @Test("the next dose is upcoming's first: at start, later, and after a take moves the next one")
    func sameAsUpcoming() throws {
        // Due a minute from now, every 6 hours from its last take; a second schedule daily, three
        // hours from now (never open while the test runs, so the take can only be of the first).
        let soon = (Daemon.now() / Civil.minute + 1) * Civil.minute
        let clock = RFC3339.utc(soon + 3 * Civil.hour).dropFirst(11).prefix(5)
        let (daemon, _, root) = try startedEngine(demo: """
            name = "Demo"
            [[schedule]]
            id = "s"
            every = "6h"
            first = \(RFC3339.utc(soon))
            anchor = "taken"
            window = "2h"
            [[schedule]]
            id = "t"
            on = "*-*-* \(clock) UTC"
            """)
        defer { try? FileManager.default.removeItem(at: root) }
        func check(_ now: Micros, _ what: Comment) {
            daemon.queue.sync {
                #expect(daemon.nextDose(after: now) == daemon.machine.upcoming(after: now, count: 1).first, what)
            }
        }
        let now = Daemon.now()
        check(now, "at start")
        check(now + Civil.minute / 2, "before the first dose falls due")
        check(soon, "when it falls due")
        check(soon + Civil.hour, "after it fell due")
        let next = try #require(daemon.queue.sync { daemon.nextDose(after: Daemon.now()) })
        #expect(next.schedule == "s" && next.due == soon)
        // Taken early now: the next one is six hours from the take, not from the due time.
        let reply = try #require(daemon.respond(to: #"{"jsonrpc":"2.0","id":1,"method":"take","params":{"medication":"demo"}}"#))
        #expect(reply.contains("\"result\""), "\(reply)")
        let after = Daemon.now()
        check(after, "after the take")
        let moved = try #require(daemon.queue.sync { daemon.nextDose(after: after) })
        #expect(moved != next)
    }
}
