import DoseFiles
import DoseSystemd
import Foundation
import Logging

/// dosed's own diagnostics (started, stopped, the clock was set, the desktop bus is gone) on
/// stderr, in the same shape as its reminders there: as `journalctl` prints them
/// (`Dec 03 19:18:57 dosed[3975]: dosed started: …`), so a terminal shows one format.
///
/// Under systemd, stderr is already the journal (`JOURNAL_STREAM` names it): the lines then carry
/// only their syslog priority (`<4>…`), which journald reads, and journald adds time and name.
public struct StderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    /// Whether stderr is journald's stream for this service.
    let toJournalStream: Bool

    public init(toJournalStream: Bool = StderrLogHandler.stderrIsJournal()) {
        self.toJournalStream = toJournalStream
    }

    public func log(event: LogEvent) {
        // A line that cannot be written (stderr full or closed) is lost; dosed goes on.
        StandardStream.write(text(event.level, event.message.description, at: Date()), to: STDERR_FILENO)
    }

    /// The lines written for one message.
    func text(_ level: Logger.Level, _ message: String, at date: Date, pid: Int32 = getpid(), utcOffset: Int? = nil) -> String {
        var message = message
        let all = metadata.merging(metadataProvider?.get() ?? [:]) { $1 }
        if !all.isEmpty {
            message += " (" + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
        }
        guard toJournalStream else {
            return Journal.shortLine([("MESSAGE", message)], at: date, pid: pid, utcOffset: utcOffset)
        }
        let priority = Self.priority(level)
        return message.split(separator: "\n", omittingEmptySubsequences: false).map { "<\(priority)>\($0)\n" }.joined()
    }

    /// syslog's priority for a swift-log level.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Whether stderr is the stream `JOURNAL_STREAM` (`DEVICE:INODE`) names, as systemd sets it
    /// for a service whose stderr goes to the journal (systemd.exec(5)).
    public static func stderrIsJournal(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let named = environment["JOURNAL_STREAM"] else { return false }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return false }
        return named == "\(status.st_dev):\(status.st_ino)"
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}
