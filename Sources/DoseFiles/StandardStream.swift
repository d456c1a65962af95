#if canImport(Glibc)
import Glibc
#endif

/// Writing to stdout, stderr or any descriptor without Foundation's `FileHandle.write`, which
/// traps when the write fails: a full disk (`dosectl export > file`), a terminal that closed, a
/// log reader that went away. dosed must never die of a log line, and dosectl reports an output
/// it could not write instead of crashing.
public enum StandardStream {
    /// Writes all of `bytes` to `fd`, again after a signal or a partial write. Returns nil once
    /// written, else the `errno` of the failure.
    @discardableResult
    public static func write(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> Int32? {
        guard let base = bytes.baseAddress else { return nil }
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if written == 0 { return EIO }
            offset += written
        }
        return nil
    }

    /// Writes `text` (UTF-8) to `fd`; nil once written, else the `errno` of the failure.
    @discardableResult
    public static func write(_ text: String, to fd: Int32) -> Int32? {
        var text = text
        return text.withUTF8 { write(UnsafeRawBufferPointer($0), to: fd) }
    }

    /// The system's text for an `errno`, e.g. "No space left on device".
    public static func describe(_ error: Int32) -> String {
        String(cString: strerror(error))
    }
}
