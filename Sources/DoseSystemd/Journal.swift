import CSystemd
import DoseFiles
import Foundation

/// Writes structured entries to the systemd journal through `sd_journal_sendv`, or to stderr.
///
/// Without a journal (no socket at `/run/systemd/journal/socket`) the same lines go to stderr; on
/// a terminal they always go there too (SPEC 5).
public final class Journal: Sendable {
    /// Whether a journal socket was there when the writer was made.
    public let toJournal: Bool
    /// Whether lines also go to stderr.
    public let toStderr: Bool

    public static let socketPath = "/run/systemd/journal/socket"

    public init(
        toJournal: Bool = FileManager.default.fileExists(atPath: Journal.socketPath),
        toStderr: Bool? = nil
    ) {
        self.toJournal = toJournal
        self.toStderr = toStderr ?? (!toJournal || isatty(STDERR_FILENO) == 1)
    }

    /// Sends one entry. `fields` are `(NAME, value)` pairs; `MESSAGE` and `PRIORITY` among them.
    /// Returns false when the journal refused it (the line still goes to stderr then).
    @discardableResult
    public func send(_ fields: [(String, String)]) -> Bool {
        var sent = true
        if toJournal {
            sent = Self.sendv(fields) == 0
        }
        if toStderr || !sent {
            StandardStream.write(Self.shortLine(fields, at: Date()), to: STDERR_FILENO)
        }
        return sent
    }

    /// The entry as `journalctl -o short` prints it: `Nov 28 20:00:00 dosed[1234]: message`, one
    /// line per line of the message, each with the time and identifier.
    /// - Parameter utcOffset: seconds east of UTC to show the time in (default: local time).
    public static func shortLine(_ fields: [(String, String)], at date: Date, pid: Int32 = getpid(),
                                 utcOffset: Int? = nil) -> String {
        let message = fields.first { $0.0 == "MESSAGE" }?.1 ?? ""
        var time = time_t(date.timeIntervalSince1970)
        var parts = tm()
        if let utcOffset {
            time += time_t(utcOffset)
            gmtime_r(&time, &parts)
        } else {
            localtime_r(&time, &parts)
        }
        var text = [CChar](repeating: 0, count: 32)
        let length = strftime(&text, text.count, "%b %d %H:%M:%S", &parts)
        let stamp = String(decoding: text[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return message.split(separator: "\n", omittingEmptySubsequences: false)
            .map { "\(stamp) dosed[\(pid)]: \($0)\n" }.joined()
    }

    /// `sd_journal_sendv` with one iovec per `NAME=value` (values may hold newlines).
    private static func sendv(_ fields: [(String, String)]) -> Int32 {
        var buffers = fields.map { Array(($0.0 + "=" + $0.1).utf8) }
        return buffers.withUnsafeMutableBufferPointer { all -> Int32 in
            var vectors: [iovec] = []
            vectors.reserveCapacity(all.count)
            func collect(_ index: Int) -> Int32 {
                guard index < all.count else {
                    return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
                }
                return all[index].withUnsafeMutableBytes { bytes in
                    vectors.append(iovec(iov_base: bytes.baseAddress, iov_len: bytes.count))
                    return collect(index + 1)
                }
            }
            return collect(0)
        }
    }
}
