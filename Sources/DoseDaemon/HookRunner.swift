import DoseCore
import Foundation
import NIOConcurrencyHelpers

/// Runs `[hooks]` commands with `/bin/sh -c` and the event's `DOSED_*` fields as environment.
///
/// Each hook runs on a thread of its own (hooks are rare; a concurrent queue would start
/// libdispatch's once-a-second thread-pool monitor for good) and never delays a reminder; each is limited to `timeout`, then
/// killed. A failure is reported (the daemon writes it to the journal) with its exit status.
final class HookRunner: Sendable {
    /// Called with the hook's name and what went wrong.
    private let report: @Sendable (String, String) -> Void
    let timeout: TimeInterval
    /// Process groups of the hooks running now.
    private let running = NIOLockedValueBox<Set<pid_t>>([])

    init(timeout: TimeInterval = 30, report: @escaping @Sendable (String, String) -> Void) {
        self.report = report
        self.timeout = timeout
    }

    /// The journal entry of a failed hook.
    static func failure(_ name: String, _ what: String) -> [(String, String)] {
        [("MESSAGE", "hook \(name) failed: \(what)"), ("PRIORITY", "4"), ("SYSLOG_IDENTIFIER", "dosed"),
         ("DOSED_ERROR", "hook \(name) \(what)")]
    }

    /// The hook an event runs, if any: `on_due` for a dose's first reminder, `on_missed`, `on_low_stock`.
    static func command(for event: Event, hooks: Configuration.Hooks) -> (name: String, command: String)? {
        switch event.kind {
        case .reminder where event.first: hooks.onDue.map { ("on_due", $0) }
        case .missed: hooks.onMissed.map { ("on_missed", $0) }
        case .lowStock: hooks.onLowStock.map { ("on_low_stock", $0) }
        default: nil
        }
    }

    /// Runs the hook in its own process group (so a time-out kills everything it started);
    /// `finished` (for tests) is called once it ended or was killed.
    func run(_ name: String, _ command: String, environment: [String: String],
             finished: (@Sendable () -> Void)? = nil) {
        let report = self.report
        let timeout = self.timeout
        let running = self.running
        Thread.detachNewThread {
            defer { finished?() }
            let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
            guard let pid = Self.spawn(["/bin/sh", "-c", command], environment: env) else {
                report(name, "could not start: \(String(cString: strerror(errno)))")
                return
            }
            running.withLockedValue { _ = $0.insert(pid) }
            defer { running.withLockedValue { _ = $0.remove(pid) } }
            let exited = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var status: Int32 = 0
            Thread.detachNewThread {
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                exited.signal()
            }
            if exited.wait(timeout: .now() + timeout) == .timedOut {
                kill(-pid, SIGKILL)
                exited.wait()
                report(name, "killed after \(timeout) s")
                return
            }
            let signal = status & 0x7f
            if signal != 0 {
                report(name, "was killed by signal \(signal)")
            } else if (status >> 8) & 0xff != 0 {
                report(name, "exited with status \((status >> 8) & 0xff)")
            }
        }
    }

    /// Ends every running hook and everything it started (SIGTERM to each process group), as
    /// dosed stops.
    func stopAll() {
        for group in running.withLockedValue({ $0 }) { kill(-group, SIGTERM) }
    }

    /// posix_spawn with a new process group, stdin from /dev/null.
    private static func spawn(_ arguments: [String], environment: [String]) -> pid_t? {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        if result != 0 { errno = result; return nil }
        return pid
    }
}
