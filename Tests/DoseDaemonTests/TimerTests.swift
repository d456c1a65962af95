import DoseCore
@testable import DoseDaemon
import Foundation
import Synchronization
import Testing

/// The one wall-clock timer, against libdispatch itself: setting a dispatch timer again clears an
/// expiry not yet handled, and its next one goes behind whatever was queued meanwhile.
@Suite("The reminder timer")
struct TimerTests {
    @Test("a due tick keeps its place on the queue while answers re-plan: it runs before work queued after it fell due")
    func dueTickKeepsItsPlace() throws {
        let due = (Daemon.now() / Civil.second + 2) * Civil.second
        let (daemon, _, root) = try startedEngine(demo: """
            name = "Demo"
            [[schedule]]
            id = "s"
            every = "1h"
            first = \(RFC3339.utc(due))
            window = "1h"
            """)
        defer { try? FileManager.default.removeItem(at: root) }
        let dose = DueDose(medication: "demo", schedule: "s", due: due)
        let seen = Mutex<[Bool]>([])
        let done = DispatchSemaphore(value: 0)
        daemon.queue.async {
            // The engine is busy past the due time: the timer expires, and its tick waits here.
            while Daemon.now() < due + 300_000 { usleep(10_000) }
            // Requests arrive meanwhile; each answer re-plans and re-arms, as a take does.
            for _ in 0..<20 {
                daemon.queue.async {
                    seen.withLock { $0.append((daemon.machine.records[dose]?.reminders ?? 0) > 0) }
                    daemon.rearm()
                }
            }
            daemon.rearm()
            daemon.queue.async { done.signal() }
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        // The tick came first: every request after it saw the dose reminded. (Re-arming an
        // unchanged deadline cleared the pending expiry: the tick then came after all 20.)
        #expect(seen.withLock { $0 } == Array(repeating: true, count: 20))
    }
}
