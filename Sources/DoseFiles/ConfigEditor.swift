import DoseCore
import Foundation

/// Safe edits of medication files (issue #6): under a lock, the whole configuration is validated
/// with the new file before anything is written, and the file is replaced atomically.
public struct ConfigEditor {
    public let directory: String

    public init(directory: String) {
        self.directory = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
    }

    /// The header of files dosectl writes.
    public static let header = """
        Written by dosectl. You may edit it by hand; dosectl keeps every setting when it changes
        this file again, but not comments.
        """

    /// Why an edit was refused or failed.
    public enum EditError: Error, CustomStringConvertible {
        /// Not a medication id (SPEC 3): no path is made of it.
        case invalidID(String)
        /// The config directory does not exist.
        case noConfigDirectory(String)
        /// The file as it is cannot be read or parsed (`FILE:LINE:COLUMN: message` lines).
        case unreadable(String)
        /// The edited file would be invalid; nothing was changed.
        case refused(ConfigErrors)
        /// Locking, writing or removing a file failed.
        case io(String)

        public var description: String {
            switch self {
            case .invalidID(let id): "'\(id)' is not a medication id (it must match [a-z0-9][a-z0-9_-]*)"
            case .noConfigDirectory(let directory): "\(directory): the config directory does not exist"
            case .unreadable(let text), .io(let text): text
            case .refused(let errors): errors.description + "\nThe edit was refused; nothing was changed."
            }
        }
    }

    /// What an edit did (or, with `dryRun`, would do).
    public struct Outcome {
        /// The new text of the file, or nil when it is removed.
        public var text: String?
        public var path: String
    }

    public func path(of medication: String) -> String { directory + "/medications/" + medication + ".toml" }

    /// Reads a medication file as a document (nil when there is none), changes it with `change`
    /// (setting it to nil removes the file), validates the whole configuration, then writes.
    public func edit(
        medication: String, dryRun: Bool, zones: ZoneDatabase = ConfigDirectory.zones(),
        _ change: (inout TOMLDocument?) throws -> Void
    ) throws -> Outcome {
        guard ConfigDecoder.isValidID(medication) else {
            throw EditError.invalidID(medication)
        }
        guard Paths.isDirectory(directory) else {
            throw EditError.noConfigDirectory(directory)
        }
        let lock = try Self.lock(directory + "/.dosectl.lock")
        defer { close(lock) }
        Self.removeStaleTemporaries(in: directory + "/medications")
        let path = path(of: medication)
        let oldFile = FileManager.default.fileExists(atPath: path) ? ConfigDirectory.read(path) : nil
        if let problem = oldFile?.problem { throw EditError.unreadable("\(path):1:1: \(problem)") }
        let old = oldFile?.text
        var document: TOMLDocument?
        if let old {
            do {
                document = try TOMLDocument(parsing: old)
            } catch {
                // The file as it is has an error: say where, as `check` would.
                if case .failure(let errors) = ConfigDecoder.decode(main: nil, medications: [SourceFile(path: path, text: old)], zones: zones) {
                    throw EditError.unreadable(errors.description)
                }
                throw EditError.unreadable("\(path): \(error)")
            }
        }
        try change(&document)
        let text = document.map { $0.text(header: Self.header) }
        try validate(replacing: path, with: text, zones: zones)
        if !dryRun {
            if let text {
                do {
                    try AtomicFile.write(text, to: path)
                } catch let failure as AtomicFile.Failure {
                    throw EditError.io(failure.description)
                }
            } else if old != nil {
                guard unlink(path) == 0 else { throw EditError.io("cannot remove \(path): \(String(cString: strerror(errno)))") }
                AtomicFile.syncDirectory(directory + "/medications")
            }
        }
        return Outcome(text: text, path: path)
    }

    /// Decodes the edited file as the daemon would, with the `[defaults]` of the `dosed.toml` in
    /// force: files are loaded one by one, so another file's error never blocks this edit.
    private func validate(replacing path: String, with text: String?, zones: ZoneDatabase) throws {
        guard let text else { return }
        let mainPath = directory + "/dosed.toml"
        let main = FileManager.default.fileExists(atPath: mainPath) ? ConfigDirectory.read(mainPath) : nil
        let defaults = ConfigDecoder.load(main: main, medications: [], zones: zones).configuration.defaults
        if case .failure(let errors) = ConfigDecoder.medication(SourceFile(path: path, text: text), defaults: defaults, zones: zones) {
            throw EditError.refused(errors)
        }
    }

    /// Removes `.NAME.PID.tmp` files left by edits that were killed: under the lock, a temporary
    /// whose process is gone is nobody's.
    static func removeStaleTemporaries(in directory: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            let parts = name.dropLast(4).split(separator: ".")
            guard let pid = parts.last.flatMap({ pid_t($0) }), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory + "/" + name) }
        }
    }

    /// An exclusive lock held until the descriptor is closed: concurrent edits take turns.
    private static func lock(_ path: String) throws -> Int32 {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EditError.io("cannot lock \(path): \(String(cString: strerror(errno)))") }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(fd)
                throw EditError.io("cannot lock \(path): \(String(cString: strerror(errno)))")
            }
        }
        return fd
    }
}
