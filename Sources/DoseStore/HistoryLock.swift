import Foundation

/// Who may write answers into a history: one running dosed, or dosectl while no dosed runs.
///
/// dosectl answers without the daemon only when none runs (SPEC 8). A daemon it cannot reach
/// (started with another `--socket`, or its socket file removed) still runs on the history;
/// an answer written behind its back is one it never learns of: it reminds again, and marks the
/// dose missed over the answer once the window closes. Nor may two daemons remind from one
/// history. So each holds an advisory lock (`flock`) on the state dir: dosed an exclusive one for
/// its whole life, dosectl a shared one while it answers (several may, SQLite orders their
/// writes). Closed on exec, so a hook never keeps it; released by the kernel when its holder dies.
public final class HistoryLock: Sendable {
    public enum Holder: Sendable {
        /// A running dosed (exclusive).
        case daemon
        /// dosectl answering without the daemon (shared).
        case dosectl
    }

    /// Why the lock was not taken.
    public enum Failure: Error, Equatable {
        /// Held by another: a running dosed, or dosectl answering without it.
        case held(by: Holder)
        /// The state dir cannot be opened (errno).
        case unavailable(Int32)
    }

    private let descriptor: Int32

    /// Takes the lock on `directory` for `holder`, without waiting.
    public init(directory: String, for holder: Holder) throws(Failure) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unavailable(errno) }
        guard Self.lock(descriptor, holder == .daemon ? LOCK_EX : LOCK_SH) else {
            // Held: by a dosed when even a shared lock is refused, else by dosectl answering.
            let daemon = holder == .dosectl || !Self.lock(descriptor, LOCK_SH)
            close(descriptor)  // releases a shared lock the probe took
            throw .held(by: daemon ? .daemon : .dosectl)
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// `flock` without waiting (the function, not the struct of the same name).
    private static func lock(_ descriptor: Int32, _ operation: Int32) -> Bool {
        let flock = Glibc.flock(_:_:)
        while flock(descriptor, operation | LOCK_NB) != 0 {
            guard errno == EINTR else { return false }
        }
        return true
    }
}
