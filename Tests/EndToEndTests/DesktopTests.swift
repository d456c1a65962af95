@testable import DoseDaemon
import Foundation
import Synchronization
import Testing

/// Desktop notifications (SPEC 9) through a real dbus-daemon and a real notification server:
/// the exact calls dosed makes, the buttons answering doses, and every failure costing no reminder.
@Suite("Desktop notifications end to end", .serialized, .enabled(if: DesktopSession.runs))
struct DesktopTests {
    /// A medication due `seconds` from now, every day.
    static func medication(_ name: String, in seconds: Double, window: String = "1m", repeat: String = "2s",
                           escalate: String = "1h") -> String {
        """
        name = "\(name)"
        dose = "1 tablet"
        route = "by mouth"
        sites = ["left", "right"]
        [[schedule]]
        id = "daily"
        every = "1d"
        first = \(DaemonHarness.local(seconds))
        window = "\(window)"
        repeat = "\(`repeat`)"
        escalate = "\(escalate)"
        """
    }

    /// A subscriber's next `reminder`, which must be on time (not a late catch-up).
    static func onTimeReminder(_ subscriber: RPCClient) throws {
        let reminder = try #require(subscriber.notification("reminder"))
        let params = try #require(reminder["params"] as? [String: Any])
        #expect(params["late"] as? Bool != true, "a reminder came late: \(params)")
    }

    static func warnings(_ harness: DaemonHarness) -> Int {
        harness.stderrText().components(separatedBy: "desktop notifications are unavailable").count - 1
    }

    @Test("a reminder is a notification with Take, Snooze and Skip; repeats and escalation replace it; Take answers the dose and closes it")
    func life() throws {
        let desktop = try DesktopSession()
        defer { desktop.close() }
        try desktop.serve()
        let harness = try DaemonHarness(medications: ["demo": Self.medication("Demo", in: 2, escalate: "5s")])
        defer { harness.remove() }
        try harness.start(environment: desktop.environment)
        let subscriber = try harness.client()
        _ = try subscriber.call("subscribe")
        try Self.onTimeReminder(subscriber)

        // The first reminder, a repeat, then the escalated one: one notification, replaced.
        let calls = try desktop.calls { NotifyCall.all($0).contains { $0.hints["urgency"] as? Int == 2 } }
        #expect(calls.first?.first as? String == "GetCapabilities")
        #expect(calls.filter { $0.first as? String == "GetCapabilities" }.count == 1)
        let notices = NotifyCall.all(calls)
        let first = try #require(notices.first)
        #expect(first.replaces == 0)
        #expect(first.appName == "dosed")
        #expect(first.icon == "dosed")
        #expect(first.summary == "Time for Demo")
        #expect(first.body.hasPrefix("1 tablet, by mouth\nSite: left\nDue "))
        #expect(first.actions == ["take", "Take", "snooze", "Snooze 15m", "skip", "Skip"])
        #expect(first.hints["urgency"] as? Int == 1)
        #expect(first.hints["category"] as? String == "x-dosed.reminder")
        #expect(first.hints["desktop-entry"] as? String == "dosed")
        #expect(first.hints["resident"] as? Bool == true)
        #expect(first.expire == 0)
        #expect(notices.dropFirst().allSatisfy { $0.replaces == 1 }, "repeats replace notification 1")
        #expect(notices.count >= 3)

        // Signals that are not ours change nothing: an unknown id, and a sender that is not the server.
        try desktop.press("take", on: 99)
        _ = try execute("/usr/bin/dbus-send", ["--session", "--type=signal", "/org/freedesktop/Notifications",
                                               "org.freedesktop.Notifications.ActionInvoked", "uint32:1", "string:skip"],
                        environment: desktop.environment)
        Thread.sleep(forTimeInterval: 0.5)
        let status = try harness.client().call("status")
        let due = try #require((status["result"] as? [String: Any])?["due"] as? [[String: Any]])
        #expect(due.count == 1, "still due after foreign signals")

        try desktop.press("take", on: 1)
        let taken = try #require(subscriber.notification("taken"))
        let dose = try #require((taken["params"] as? [String: Any])?["id"] as? String)
        let closed = try desktop.calls { closedIDs($0) == [1] }
        #expect(closedIDs(closed) == [1])
        let history = try harness.dosectl(["history", "--json"])
        #expect(history.stdout.contains("\"state\":\"taken\"") || history.stdout.contains("\"state\" : \"taken\""), "\(history.stdout)")
        let journal = try harness.journal { $0.contains { $0["DOSED_EVENT"] == "taken" } }
        #expect(journal.contains { $0["DOSED_EVENT"] == "taken" && $0["DOSED_DOSE_ID"] == dose && $0["DOSED_SITE"] == "left" })
        #expect(Self.warnings(harness) == 0)
    }

    @Test("an answer from the CLI closes the notification; Snooze and Skip answer; a missed dose becomes a notice without buttons")
    func answers() throws {
        let desktop = try DesktopSession()
        defer { desktop.close() }
        try desktop.serve()
        let harness = try DaemonHarness(medications: [
            "alpha": Self.medication("Alpha", in: 2, repeat: "30s"),
            "bravo": Self.medication("Bravo", in: 2, repeat: "30s"),
            "charlie": Self.medication("Charlie", in: 2, window: "5s", repeat: "30s"),
            "delta": Self.medication("Delta", in: 2, repeat: "30s"),
        ], main: "[notify]\nsnooze = \"10m\"\n")
        defer { harness.remove() }
        try harness.start(environment: desktop.environment)
        let subscriber = try harness.client()
        _ = try subscriber.call("subscribe", ["events": ["snoozed", "skipped", "missed"]])
        let shown = NotifyCall.all(try desktop.calls { NotifyCall.all($0).count == 4 })
        #expect(shown.count == 4)
        var ids: [String: Int] = [:]
        for (index, notice) in shown.enumerated() { ids[notice.summary] = index + 1 }
        #expect(shown.allSatisfy { $0.actions.contains("Snooze 10m") })

        #expect(try harness.dosectl(["take", "alpha"]).status == 0)
        try desktop.press("snooze", on: try #require(ids["Time for Bravo"]))
        let snoozed = try #require(subscriber.notification("snoozed"))
        #expect((snoozed["params"] as? [String: Any])?["medication"] as? String == "bravo")
        try desktop.press("skip", on: try #require(ids["Time for Delta"]))
        let skipped = try #require(subscriber.notification("skipped"))
        #expect((skipped["params"] as? [String: Any])?["medication"] as? String == "delta")
        let closed = try desktop.calls { Set(closedIDs($0)).count == 3 }
        #expect(Set(closedIDs(closed)) == Set(["Time for Alpha", "Time for Bravo", "Time for Delta"].compactMap { ids[$0] }))

        let missed = try #require(subscriber.notification("missed"))
        #expect((missed["params"] as? [String: Any])?["medication"] as? String == "charlie")
        let notice = try #require(NotifyCall.all(try desktop.calls { NotifyCall.all($0).contains { $0.summary.hasPrefix("Missed") } })
            .first { $0.summary.hasPrefix("Missed") })
        #expect(notice.summary.hasPrefix("Missed: Charlie, due "))
        #expect(notice.replaces == ids["Time for Charlie"])
        #expect(notice.actions.isEmpty)
        #expect(notice.expire == -1)
    }

    @Test("a button whose answer cannot be recorded (the history out of reach) says so in the notification, with the buttons to try again; once it can be, the same button records it")
    func buttonNotRecorded() throws {
        let desktop = try DesktopSession()
        defer { desktop.close() }
        try desktop.serve()
        let harness = try DaemonHarness(medications: ["demo": Self.medication("Demo", in: 2, repeat: "1h")])
        defer { harness.remove() }
        try Data("in the way".utf8).write(to: harness.state)
        try harness.start(environment: desktop.environment)
        _ = try desktop.calls { NotifyCall.all($0).count == 1 }
        try desktop.press("take", on: 1)
        let again = try #require(NotifyCall.all(try desktop.calls { NotifyCall.all($0).count == 2 }).last)
        #expect(again.replaces == 1)
        #expect(again.summary == "Not recorded: Demo")
        #expect(again.body.hasPrefix("the history is out of reach (cannot open the state directory \(harness.state.path): Not a directory); nothing was recorded\n1 tablet, by mouth\nSite: left\nDue "),
                "\(again.body)")
        #expect(again.actions == ["take", "Take", "snooze", "Snooze 15m", "skip", "Skip"])
        // The history made (the retry every 10 s): the same button records the dose and closes it.
        try FileManager.default.removeItem(at: harness.state)
        var recorded = false
        for _ in 0..<30 where !recorded {
            Thread.sleep(forTimeInterval: 0.5)
            recorded = (try harness.client().call("status")["result"] as? [String: Any])?["history_error"] == nil
        }
        #expect(recorded)
        let shown = NotifyCall.all(try desktop.calls()).count
        try desktop.press("take", on: 1)
        let closed = try desktop.calls { closedIDs($0) == [1] }
        #expect(closedIDs(closed) == [1] && NotifyCall.all(closed).count == shown, "closed, not shown again")
        #expect(try harness.dosectl(["history", "--json"]).stdout.contains("\"state\":\"taken\""))
    }

    @Test("a server without buttons gets the dosectl line in the body")
    func noActions() throws {
        let desktop = try DesktopSession()
        defer { desktop.close() }
        try desktop.serve(capabilities: "body")
        let harness = try DaemonHarness(medications: ["demo": Self.medication("Demo", in: 2)])
        defer { harness.remove() }
        try harness.start(environment: desktop.environment)
        let notice = try #require(NotifyCall.all(try desktop.calls { !NotifyCall.all($0).isEmpty }).first)
        #expect(notice.actions.isEmpty)
        let line = try #require(notice.body.split(separator: "\n").last)
        #expect(line.hasPrefix("Answer: dosectl take demo/daily@"))
    }

    @Test("a real notification daemon (dunst on Xvfb) shows the reminder with the dosed icon; an answer from the CLI removes it",
          .enabled(if: DesktopSession.missingScreen == nil || ProcessInfo.processInfo.environment["DOSED_REQUIRE_DESKTOP"] == "1"))
    func onScreen() throws {
        let desktop = try DesktopSession()
        defer { desktop.close() }
        try desktop.showOnScreen()
        #expect(try desktop.displayed() == 0)
        let harness = try DaemonHarness(medications: ["interferon": """
            name = "Interferon alfa (Intron A)"
            dose = "3 million units"
            route = "subcutaneous"
            sites = ["thigh left", "thigh right"]
            [[schedule]]
            id = "evening"
            every = "2d"
            first = \(DaemonHarness.local(2))
            """])
        defer { harness.remove() }
        try harness.start(environment: desktop.environment)
        #expect(try desktop.displayed(becomes: 1) == 1)
        // Kept for README (make test refreshes it): what a patient sees.
        let shots = packageRoot.appendingPathComponent(".build/screenshots")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let shot = shots.appendingPathComponent("notification.png")
        try desktop.screenshot(to: shot)
        // Not blank: the screen's pixels differ (an empty Xvfb screen is one colour).
        let spread = try execute("/usr/bin/convert", [shot.path, "-format", "%[fx:standard_deviation]", "info:"])
        #expect((Double(spread.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0.01, "\(spread.stdout)")
        #expect(try harness.dosectl(["take", "interferon"]).status == 0)
        #expect(try desktop.displayed(becomes: 0) == 0)
    }

    /// Voluntary context switches of each thread of `pid`.
    static func switches(_ pid: Int32) -> [String: Int] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var counts: [String: Int] = [:]
        for task in tasks {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
            if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("voluntary_ctxt_switches") }) {
                counts[task] = Int(line.split(separator: "\t").last ?? "")
            }
        }
        return counts
    }

    @Test("idle with a notification shown and after clients came and went, dosed does not wake at all")
    func idle() throws {
        let desktop = try DesktopSession()
        defer { desktop.close() }
        try desktop.serve()
        let harness = try DaemonHarness(medications: [
            "demo": Self.medication("Demo", in: 3, window: "2h", repeat: "0", escalate: "2h"),
        ])
        defer { harness.remove() }
        try harness.start(environment: desktop.environment)
        #expect(!NotifyCall.all(try desktop.calls { !NotifyCall.all($0).isEmpty }).isEmpty)
        for _ in 0..<3 { _ = try harness.client().call("status") }
        // Worker threads of the work just done end within about 5 s; then nothing is left to do.
        Thread.sleep(forTimeInterval: 6)
        // Setting the machine's clock wakes dosed on purpose (it catches up): only those
        // wake-ups are allowed, a few for each (some machines' clocks are set many times a
        // second, to the time they show). The test counts the sets itself, with dosed's watcher.
        let clockSets = Mutex(0)
        let watcher = ClockWatcher(queue: DispatchQueue(label: "test.clock")) { clockSets.withLock { $0 += 1 } }
        #expect(watcher != nil)
        let before = Self.switches(harness.pid)
        Thread.sleep(forTimeInterval: 3)
        let after = Self.switches(harness.pid)
        let sets = clockSets.withLock { $0 }
        let wakeups = after.reduce(0) { $0 + $1.value - (before[$1.key] ?? 0) }
        #expect(wakeups <= 5 * sets, "\(sets) clock set(s); threads before \(before), after \(after)")
    }

    // MARK: - Failures never cost a reminder

    /// Reminders and repeats reach a subscriber and the journal on time whatever the bus does;
    /// dosed stays up.
    static func remindersFlow(_ harness: DaemonHarness, repeats: Int = 2) throws {
        let subscriber = try harness.client()
        _ = try subscriber.call("subscribe", ["events": ["reminder"]])
        for _ in 0...repeats { try onTimeReminder(subscriber) }
        #expect(harness.process?.isRunning == true)
        if journalAvailable {
            let reminders = try harness.journal { $0.filter { $0["DOSED_EVENT"] == "reminder" }.count > repeats }
                .filter { $0["DOSED_EVENT"] == "reminder" }
            #expect(reminders.count > repeats)
            #expect(reminders.allSatisfy { $0["DOSED_LATE"] == nil }, "a reminder in the journal came late")
        }
    }

    @Test("no session bus at all: reminders go on, one warning")
    func noBus() throws {
        let harness = try DaemonHarness(medications: ["demo": Self.medication("Demo", in: 2)])
        defer { harness.remove() }
        try harness.start(environment: ["DBUS_SESSION_BUS_ADDRESS": "unix:path=/tmp/dosed-no-such-bus"])
        try Self.remindersFlow(harness)
        #expect(Self.warnings(harness) == 1, "\(harness.stderrText())")
    }

    @Test("a bus without a notification server: reminders go on, one warning")
    func noServer() throws {
        let desktop = try DesktopSession()
        defer { desktop.close() }
        let harness = try DaemonHarness(medications: ["demo": Self.medication("Demo", in: 2)])
        defer { harness.remove() }
        try harness.start(environment: desktop.environment)
        try Self.remindersFlow(harness)
        #expect(Self.warnings(harness) == 1, "\(harness.stderrText())")
        #expect(harness.stderrText().contains("ServiceUnknown"))
    }

    @Test("the server crashes between reminders and comes back: reminders go on, and the next one is shown again")
    func serverRestarts() throws {
        let desktop = try DesktopSession()
        defer { desktop.close() }
        try desktop.serve()
        let harness = try DaemonHarness(medications: ["demo": Self.medication("Demo", in: 2)])
        defer { harness.remove() }
        try harness.start(environment: desktop.environment)
        let subscriber = try harness.client()
        _ = try subscriber.call("subscribe", ["events": ["reminder"]])
        try Self.onTimeReminder(subscriber)
        #expect(!NotifyCall.all(try desktop.calls { !NotifyCall.all($0).isEmpty }).isEmpty)
        desktop.killServer()
        try Self.onTimeReminder(subscriber)
        try desktop.serve()
        try Self.onTimeReminder(subscriber)
        // A new server: capabilities asked again, and a new notification (it knows no old id).
        let calls = try desktop.calls { !NotifyCall.all($0).isEmpty }
        #expect(calls.first?.first as? String == "GetCapabilities")
        #expect(NotifyCall.all(calls).first?.replaces == 0)
        #expect(harness.process?.isRunning == true)
        #expect(Self.warnings(harness) == 1, "\(harness.stderrText())")
        #expect(harness.stderrText().contains("desktop notifications work again"))
        // Stopping closes what is on screen: its buttons would answer nobody.
        harness.stop()
        #expect(closedIDs(try desktop.calls { !closedIDs($0).isEmpty }) == [1])
    }

    @Test("a server that never answers: reminders and answers go on without waiting for it")
    func silentServer() throws {
        let desktop = try DesktopSession()
        defer { desktop.close() }
        try desktop.hang()
        let harness = try DaemonHarness(medications: ["demo": Self.medication("Demo", in: 2)])
        defer { harness.remove() }
        try harness.start(environment: desktop.environment)
        try Self.remindersFlow(harness)
        let take = try harness.dosectl(["take", "demo"])
        #expect(take.status == 0, "\(take.stderr)")
    }
}
