@testable import DoseDaemon
import Dispatch
import Synchronization
import Testing

/// How other threads hand work to the engine: in order, everything, one item per turn of the
/// queue (so a due timer is not kept behind a burst), and `sync` waits for what came before.
@Suite("The engine's inbox")
struct InboxTests {
    @Test("work from many threads all runs, each sender's in the order sent")
    func order() {
        let inbox = Inbox(DispatchQueue(label: "test.inbox"))
        let seen = Mutex<[Int: [Int]]>([:])
        DispatchQueue.concurrentPerform(iterations: 4) { sender in
            for index in 0..<500 {
                inbox.async { seen.withLock { $0[sender, default: []].append(index) } }
            }
        }
        inbox.sync()
        let all = seen.withLock { $0 }
        #expect(all.count == 4)
        for sender in 0..<4 { #expect(all[sender] == Array(0..<500), "sender \(sender)") }
    }

    @Test("one item per turn: work queued on the queue meanwhile runs before the rest of a burst")
    func fairness() {
        let queue = DispatchQueue(label: "test.inbox.fair")
        let inbox = Inbox(queue)
        let held = DispatchSemaphore(value: 0)
        queue.async { held.wait() }
        let order = Mutex<[String]>([])
        // A burst arrives while the queue is busy; its first turn is queued at once.
        for index in 0..<100 { inbox.async { order.withLock { $0.append("item \(index)") } } }
        // Then a timer falls due (its handler is queued behind that first turn).
        queue.async { order.withLock { $0.append("timer") } }
        held.signal()
        inbox.sync()
        let ran = order.withLock { $0 }
        #expect(ran.count == 101)
        #expect(ran.firstIndex(of: "timer") == 1, "the timer runs after the one turn queued before it: \(ran.prefix(3))")
    }

    @Test("sync runs after everything sent before it, and the inbox goes on after an empty spell")
    func syncWaits() {
        let inbox = Inbox(DispatchQueue(label: "test.inbox.sync"))
        let count = Mutex(0)
        for round in 1...3 {
            for _ in 0..<50 { inbox.async { count.withLock { $0 += 1 } } }
            inbox.sync()
            #expect(count.withLock { $0 } == round * 50)
        }
    }
}
