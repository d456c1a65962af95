import DoseCore
@testable import DoseDaemon
import DoseSystemd
import Foundation
import Logging
import Testing

/// Without a journal (a terminal, a container) the entries go to stderr as `journalctl -o short`
/// prints them, and a repeat or an escalation reads differently from the first reminder.
@Suite("Journal lines on stderr")
struct JournalLineTests {
    @Test("time, identifier and pid, then the message; each line of a message gets its own prefix")
    func shortLine() {
        let date = Date(timeIntervalSince1970: TimeInterval(RFC3339.parse("2026-11-30T20:00:00Z")! / Civil.second))
        let line = Journal.shortLine([("MESSAGE", "Time for Interferon — due 20:00"), ("PRIORITY", "5")], at: date, pid: 42, utcOffset: 0)
        #expect(line == "Nov 30 20:00:00 dosed[42]: Time for Interferon — due 20:00\n")
        #expect(Journal.shortLine([("MESSAGE", "x")], at: date, pid: 42, utcOffset: 3600).hasPrefix("Nov 30 21:00:00 "))
        let two = Journal.shortLine([("MESSAGE", "a\nb")], at: date, pid: 42, utcOffset: 0)
        #expect(two == "Nov 30 20:00:00 dosed[42]: a\nNov 30 20:00:00 dosed[42]: b\n")
    }

    @Test("dosed's own diagnostics: journalctl's short lines on stderr, or syslog priorities when stderr is the journal")
    func diagnostics() throws {
        let date = Date(timeIntervalSince1970: TimeInterval(RFC3339.parse("2026-11-30T20:00:00Z")! / Civil.second))
        let terminal = StderrLogHandler(toJournalStream: false)
        #expect(terminal.text(.info, "dosed started", at: date, pid: 42, utcOffset: 0) == "Nov 30 20:00:00 dosed[42]: dosed started\n")
        #expect(terminal.text(.warning, "a\nb", at: date, pid: 42, utcOffset: 0) == "Nov 30 20:00:00 dosed[42]: a\nNov 30 20:00:00 dosed[42]: b\n")
        var journal = StderrLogHandler(toJournalStream: true)
        #expect(journal.text(.warning, "bus gone\nretrying", at: date) == "<4>bus gone\n<4>retrying\n")
        #expect(journal.text(.debug, "x", at: date) == "<7>x\n")
        journal[metadataKey: "file"] = "a.toml"
        #expect(journal.text(.error, "refused", at: date) == "<3>refused (file=a.toml)\n")
        // JOURNAL_STREAM must name stderr itself, as systemd sets it; any other stream is not the journal.
        var status = stat()
        try #require(fstat(STDERR_FILENO, &status) == 0)
        #expect(StderrLogHandler.stderrIsJournal(["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino)"]))
        #expect(!StderrLogHandler.stderrIsJournal(["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino + 1)"]))
        #expect(!StderrLogHandler.stderrIsJournal([:]))
    }

    @Test("the first reminder, a repeat and an escalated repeat read differently")
    func repeats() throws {
        let file = SourceFile(path: "medications/interferon.toml", text: "name = \"Interferon\"\n[[schedule]]\nid = \"e\"\non = \"20:00\"\ntimezone = \"UTC\"\n")
        let config = try ConfigDecoder.decode(main: nil, medications: [file], zones: .foundation()).get()
        var record = DoseRecord(dose: DueDose(medication: "interferon", schedule: "e", due: RFC3339.parse("2026-11-30T20:00:00Z")!))
        record.reminders = 1
        let first = Event.reminder(record, first: true, late: false, warning: false)
        record.reminders = 3
        let again = Event.reminder(record, first: false, late: false, warning: false)
        let warning = Event.reminder(record, first: false, late: false, warning: true)
        let messages = [first, again, warning].map { EventFields.message($0, config: config) }
        #expect(messages[0] == "Time for Interferon — due 20:00")
        #expect(messages[1] == "Time for Interferon — due 20:00 (reminder 3)")
        #expect(messages[2] == "Overdue: Interferon — due 20:00 (reminder 3)")
        #expect(Set(messages).count == 3)
    }
}
