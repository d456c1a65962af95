import Foundation

/// A file replaced whole or not at all: written to a temporary file in the same directory,
/// fsynced, renamed over the old one, and the directory fsynced. A reader sees the old file or
/// the new one, never half of one, whatever happens meanwhile.
public enum AtomicFile {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes `text` to `path`, with `mode`, or the old file's mode (else 0644) when nil.
    public static func write(_ text: String, to path: String, mode: mode_t? = nil) throws {
        let directory = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw Failure(description: "cannot create \(directory): \(error.localizedDescription)")
        }
        var info = stat()
        let mode = mode ?? (stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0o644)
        let temporary = directory + "/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        let fd = open(temporary, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw Failure(description: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        var offset = 0
        var failed = false
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { failed = true; break }
            offset += n
        }
        fchmod(fd, mode)
        if failed || fsync(fd) != 0 {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            throw Failure(description: "cannot write \(path): \(reason)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw Failure(description: "cannot replace \(path): \(String(cString: strerror(errno)))")
        }
        syncDirectory(directory)
    }

    /// Makes a rename or unlink in `path` durable.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}
