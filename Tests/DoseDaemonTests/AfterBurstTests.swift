@testable import DoseDaemon
import Dispatch
import Foundation
import Synchronization
import Testing

/// When the daemon gives memory back: once a burst of socket traffic is over, also while
/// clients stay connected, and not again until the next burst.
@Suite("Giving memory back after a burst")
struct AfterBurstTests {
    /// Counts the runs of an ``AfterBurst`` and lets a test wait for the next one.
    final class Runs: Sendable {
        let count = Mutex(0)
        let ran = DispatchSemaphore(value: 0)

        func note() {
            count.withLock { $0 += 1 }
            ran.signal()
        }

        func next(within seconds: Double = 10) -> Bool {
            ran.wait(timeout: .now() + seconds) == .success
        }
    }

    @Test("it runs once per burst, after the burst, and again after the next one")
    func oncePerBurst() {
        let runs = Runs()
        let after = AfterBurst(queue: DispatchQueue(label: "test.burst"), quiet: .milliseconds(100), longest: .seconds(60)) {
            runs.note()
        }
        for _ in 0..<50 { after.touch() }
        #expect(runs.next())
        // Nothing happens without touches: no second run.
        #expect(!runs.next(within: 0.5))
        #expect(runs.count.withLock { $0 } == 1)
        after.touch()
        #expect(runs.next())
        #expect(runs.count.withLock { $0 } == 2)
    }

    @Test("a touch within the quiet spell puts the run off")
    func touchDelays() {
        let runs = Runs()
        let start = Date()
        let after = AfterBurst(queue: DispatchQueue(label: "test.burst.delay"), quiet: .seconds(1), longest: .seconds(60)) {
            runs.note()
        }
        after.touch()
        usleep(100_000)
        after.touch()
        #expect(runs.next())
        // Undelayed, it would run 1 s after the first touch; the second one sets it a full
        // quiet spell after the timer finds it, 2 s after the first.
        #expect(Date().timeIntervalSince(start) >= 1.5)
    }

    @Test("a client that never stops (a poller) does not put it off past the longest wait")
    func longestWait() {
        let runs = Runs()
        let after = AfterBurst(queue: DispatchQueue(label: "test.burst.poller"), quiet: .milliseconds(200), longest: .milliseconds(500)) {
            runs.note()
        }
        let stop = Mutex(false)
        let poller = Thread {
            while !stop.withLock({ $0 }) {
                after.touch()
                usleep(20_000)
            }
        }
        poller.start()
        #expect(runs.next())
        stop.withLock { $0 = true }
    }
}
