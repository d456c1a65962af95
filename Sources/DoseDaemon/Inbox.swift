import Dispatch
import NIOConcurrencyHelpers
import NIOCore

/// Work sent to a serial queue from other threads, run one item per turn of the queue, in the
/// order sent.
///
/// Sending costs a lock, an append and, when the queue is not already at it, a signal to a
/// dispatch source: no `DispatchQueue.async`. Why: every `async` from another thread leaves its
/// 64-byte continuation in the cache of the thread that ran it (libdispatch keeps up to 1,024
/// per thread, for as long as the thread lives). A socket request crossed two threads, so after
/// 2,000 requests those blocks, one per request and scattered between the requests' own
/// allocations, held megabytes of heap pages long after the burst ended. The queue schedules
/// its next turn itself, from its own thread, which takes a continuation from that thread's
/// cache and gives it back there.
///
/// One item per turn keeps the queue fair: a timer that falls due between two items runs
/// before the next one.
///
/// `@unchecked Sendable`: its state is behind a lock, and a dispatch source may be signalled
/// from any thread.
final class Inbox: @unchecked Sendable {
    let queue: DispatchQueue
    private let state = NIOLockedValueBox(State())
    /// Signalled by senders; its handler takes the first turn of a burst.
    private let wake: any DispatchSourceUserDataAdd

    private struct State {
        var work = CircularBuffer<@Sendable () -> Void>()
        /// Whether a turn of the queue is asked for (it runs the first item of `work`).
        var scheduled = false
    }

    init(_ queue: DispatchQueue) {
        self.queue = queue
        wake = DispatchSource.makeUserDataAddSource(queue: queue)
        wake.setEventHandler { [weak self] in self?.turn() }
        wake.activate()
    }

    deinit {
        wake.cancel()
    }

    /// Runs `work` on the queue after everything sent before it.
    func async(_ work: @escaping @Sendable () -> Void) {
        let schedule = state.withLockedValue { state in
            state.work.append(work)
            defer { state.scheduled = true }
            return !state.scheduled
        }
        if schedule { wake.add(data: 1) }
    }

    /// Runs `work` on the queue after everything sent before it, and waits for it, or until
    /// `timeout` (never call it from the queue itself).
    func sync(timeout: DispatchTime = .distantFuture, _ work: @escaping @Sendable () -> Void = {}) {
        let done = DispatchSemaphore(value: 0)
        async {
            work()
            done.signal()
        }
        _ = done.wait(timeout: timeout)
    }

    private func turn() {
        let work = state.withLockedValue { $0.work.popFirst() }
        work?()
        let more = state.withLockedValue { state in
            state.scheduled = !state.work.isEmpty
            return state.scheduled
        }
        if more { queue.async { self.turn() } }
    }
}
