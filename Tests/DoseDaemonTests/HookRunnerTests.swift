import DoseCore
@testable import DoseDaemon
import Foundation
import Synchronization
import Testing

/// Hooks: real `/bin/sh` processes with the event's fields as environment (SPEC 3, issue #4).
@Suite("Hooks")
struct HookRunnerTests {
    final class Reports: Sendable {
        let lines = Mutex<[String]>([])
        func add(_ name: String, _ what: String) { lines.withLock { $0.append("\(name): \(what)") } }
        var all: [String] { lines.withLock { $0 } }
    }

    func run(_ command: String, timeout: TimeInterval = 5, environment: [String: String] = [:]) -> [String] {
        let reports = Reports()
        let runner = HookRunner(timeout: timeout, report: reports.add)
        let done = DispatchSemaphore(value: 0)
        runner.run("on_due", command, environment: environment) { done.signal() }
        done.wait()
        return reports.all
    }

    @Test("a hook gets the DOSED_* fields as its environment")
    func environment() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hook-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        let reports = run("printf '%s|%s' \"$DOSED_DOSE_ID\" \"$DOSED_SITE\" > '\(file.path)'",
                          environment: ["DOSED_DOSE_ID": "interferon/evening@2026-11-30T20:00:00Z", "DOSED_SITE": "thigh left"])
        #expect(reports.isEmpty)
        #expect(try String(contentsOf: file, encoding: .utf8) == "interferon/evening@2026-11-30T20:00:00Z|thigh left")
    }

    @Test("a failing hook is reported with its exit status")
    func failure() {
        #expect(run("exit 3") == ["on_due: exited with status 3"])
    }

    @Test("a hook running past its time limit is killed and reported")
    func timeout() {
        let started = Date()
        #expect(run("sleep 30", timeout: 0.5) == ["on_due: killed after 0.5 s"])
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("which events run which hook: on_due only for a dose's first reminder")
    func selection() {
        var hooks = Configuration.Hooks()
        hooks.onDue = "due"
        hooks.onMissed = "missed"
        let record = DoseRecord(dose: DueDose(medication: "m", schedule: "s", due: 0))
        #expect(HookRunner.command(for: .reminder(record, first: true, late: false, warning: false), hooks: hooks)?.command == "due")
        #expect(HookRunner.command(for: .reminder(record, first: false, late: false, warning: false), hooks: hooks) == nil)
        #expect(HookRunner.command(for: .missed(record), hooks: hooks)?.name == "on_missed")
        #expect(HookRunner.command(for: .lowStock(medication: "m", stock: 1), hooks: hooks) == nil)
    }
}
