import Dispatch
import NIOConcurrencyHelpers

/// Runs an action once a burst of activity is over: when `quiet` has passed without any
/// ``touch()``, or at the latest `longest` after the burst began (a client that polls every
/// half second never leaves a quiet second).
///
/// Nothing runs and nothing wakes while nothing happens: the first touch after the action arms
/// a one-shot timer, and only a touch re-arms it. A touch costs a lock and a counter.
///
/// The daemon gives memory back this way. Waiting for every client to leave (as it once did)
/// never happened while a subscriber stayed connected, as a status bar does for days.
///
/// `@unchecked Sendable`: its state is behind a lock; the timer may be set from any thread.
final class AfterBurst: @unchecked Sendable {
    private let timer: any DispatchSourceTimer
    private let quiet: DispatchTimeInterval
    private let longest: DispatchTimeInterval
    private let state = NIOLockedValueBox(State())

    private struct State {
        var touches: UInt64 = 0
        /// The touches counted when the timer was last set; nil while it is not armed.
        var seen: UInt64?
        var began = DispatchTime.now()
    }

    init(queue: DispatchQueue, quiet: DispatchTimeInterval, longest: DispatchTimeInterval,
         action: @escaping @Sendable () -> Void) {
        self.quiet = quiet
        self.longest = longest
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler { [weak self] in
            guard let self, self.isOver() else { return }
            action()
        }
        timer.activate()
    }

    deinit { timer.cancel() }

    /// Something happened: the action runs once it has been quiet for a while.
    func touch() {
        state.withLockedValue { state in
            state.touches &+= 1
            guard state.seen == nil else { return }
            state.seen = state.touches
            state.began = .now()
            timer.schedule(deadline: .now() + quiet)
        }
    }

    /// Whether the burst is over (the timer fired); otherwise the timer is set again.
    private func isOver() -> Bool {
        state.withLockedValue { state in
            guard let seen = state.seen else { return false }
            if seen != state.touches, DispatchTime.now() < state.began + longest {
                state.seen = state.touches
                timer.schedule(deadline: .now() + quiet)
                return false
            }
            state.seen = nil
            return true
        }
    }
}
