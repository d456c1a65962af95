import CSystemd
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
            let message = fields.first { $0.0 == "MESSAGE" }?.1 ?? ""
            let event = fields.first { $0.0 == "DOSED_EVENT" }?.1
            let line = "dosed" + (event.map { "[\($0)]" } ?? "") + ": " + message + "\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
        return sent
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
