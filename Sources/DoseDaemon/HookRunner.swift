import DoseCore
import DoseSystemd
import Foundation

/// Runs `[hooks]` commands with `/bin/sh -c` and the event's `DOSED_*` fields as environment.
///
/// Hooks run on their own queue and never delay a reminder; each is limited to `timeout`, then
/// killed. A failure is written to the journal with its exit status.
final class HookRunner: Sendable {
    private let queue = DispatchQueue(label: "dosed.hooks", attributes: .concurrent)
    private let journal: Journal
    let timeout: TimeInterval

    init(journal: Journal, timeout: TimeInterval = 30) {
        self.journal = journal
        self.timeout = timeout
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

    func run(_ name: String, _ command: String, environment: [String: String]) {
        let journal = self.journal
        let timeout = self.timeout
        queue.async {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardInput = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                journal.send(Self.failure(name, "could not start: \(error.localizedDescription)"))
                return
            }
            let finished = DispatchSemaphore(value: 0)
            process.terminationHandler = { _ in finished.signal() }
            if finished.wait(timeout: .now() + timeout) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                finished.wait()
                journal.send(Self.failure(name, "killed after \(Int(timeout)) s"))
                return
            }
            if process.terminationStatus != 0 || process.terminationReason != .exit {
                journal.send(Self.failure(name, "exited with status \(process.terminationStatus)"))
            }
        }
    }

    private static func failure(_ name: String, _ what: String) -> [(String, String)] {
        [("MESSAGE", "hook \(name) failed: \(what)"), ("PRIORITY", "4"), ("SYSLOG_IDENTIFIER", "dosed"),
         ("DOSED_ERROR", "hook \(name) \(what)")]
    }
}
