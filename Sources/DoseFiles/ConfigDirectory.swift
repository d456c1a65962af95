import DoseCore
import Foundation

/// Reads a config dir (`dosed.toml` and `medications/*.toml`) from disk and decodes it.
public enum ConfigDirectory {
    /// Loads a config dir file by file (SPEC 5): every valid file is in force, every invalid one
    /// is reported as `FILE:LINE:COLUMN: message` and, if `previous` held a valid version of it,
    /// that version stays in force. A missing directory is an error with nothing in force.
    /// - Parameter zones: this machine's tz database and system zone, read afresh by default (so a
    ///   reload follows a change of zone).
    public static func load(
        _ directory: String, zones: ZoneDatabase = zones(), previous: Configuration? = nil
    ) -> ConfigLoad {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        guard Paths.isDirectory(base) else {
            var load = ConfigLoad(configuration: previous ?? Configuration(systemZone: zones.system))
            load.errors = [ConfigError(file: base, line: 1, column: 1, message:
                "the config directory does not exist (create it, or pass --config DIR)")]
            load.refused = [base]
            return load
        }
        let mainPath = base + "/dosed.toml"
        let main = FileManager.default.fileExists(atPath: mainPath) ? read(mainPath) : nil
        let medications = medicationFiles(in: base).map { read(base + "/medications/" + $0) }
        let now = Micros((Date().timeIntervalSince1970 * 1_000_000).rounded(.down))
        return ConfigDecoder.load(main: main, medications: medications, zones: zones, previous: previous, now: now)
    }

    /// The names of the medication files of a config dir (`*.toml`, not hidden), sorted.
    public static func medicationFiles(in base: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base + "/medications")) ?? []
        return names.filter { $0.hasSuffix(".toml") && !$0.hasPrefix(".") }.sorted()
    }

    /// This machine's tz database as systemd sees it, and the system's zone, read afresh each time.
    ///
    /// A zone name is valid when `TZDIR` (by default /usr/share/zoneinfo) has a file of that name,
    /// as systemd checks it (Foundation alone would also accept ICU's custom names such as
    /// "GMT+5"); without the directory, every name Foundation knows. The system's zone is `TZ`,
    /// else the zone `/etc/localtime` links to, else `/etc/timezone`, else Foundation's, else UTC.
    public static func zones(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        localtime: String = "/etc/localtime", timezoneFile: String = "/etc/timezone"
    ) -> ZoneDatabase {
        let directory = environment["TZDIR"] ?? "/usr/share/zoneinfo"
        let hasDirectory = FileManager.default.fileExists(atPath: directory)
        var database = ZoneDatabase(system: .utc) { name in
            !hasDirectory || name == "UTC" || FileManager.default.fileExists(atPath: directory + "/" + name)
        }
        database.system = systemZone(in: database, environment: environment, localtime: localtime, timezoneFile: timezoneFile)
        return database
    }

    private static func systemZone(
        in database: ZoneDatabase, environment: [String: String], localtime: String, timezoneFile: String
    ) -> ZoneRules {
        if var tz = environment["TZ"], !tz.isEmpty {
            if tz.hasPrefix(":") { tz.removeFirst() }
            if let zone = database.named(tz) ?? zone(linkedFrom: tz, in: database) { return zone }
        }
        if let zone = zone(linkedFrom: localtime, in: database) { return zone }
        if let text = try? String(contentsOfFile: timezoneFile, encoding: .utf8),
           let zone = database.named(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            return zone
        }
        return database.named(TimeZone.current.identifier) ?? .utc
    }

    /// The zone a path such as `/etc/localtime` links to (`…/zoneinfo/Europe/London`).
    private static func zone(linkedFrom path: String, in database: ZoneDatabase) -> ZoneRules? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path),
              let range = target.range(of: "zoneinfo/")
        else { return nil }
        return database.named(String(target[range.upperBound...]))
    }

    /// The largest config file read, 1 MiB: a medication file is a few kilobytes, and one of
    /// gigabytes (a file copied there by mistake) must not hold a reload, and the reminders
    /// waiting behind it, for seconds or exhaust memory.
    public static let maximumFileSize = 1 << 20

    /// A config file's text, or why it cannot be read: not there or not readable, not a regular
    /// file (a FIFO is never waited on, a device never read), over ``maximumFileSize``, not UTF-8.
    public static func read(_ path: String) -> SourceFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return SourceFile(path: path, problem: "cannot read the file") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            return SourceFile(path: path, problem: "not a regular file")
        }
        let tooLarge = SourceFile(path: path, problem: "the file is \(info.st_size) bytes; a configuration file may be at most 1 MiB")
        guard info.st_size <= maximumFileSize else { return tooLarge }
        // Read into room for its size and a byte (the read that finds the end), more only if it
        // grew meanwhile, and never more than the limit and a byte.
        var data = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var count = 0
        while true {
            if count == data.count {
                guard data.count <= maximumFileSize else { break }
                data += repeatElement(0, count: min(1 << 16, maximumFileSize + 1 - data.count))
            }
            let got = data.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { return SourceFile(path: path, problem: "cannot read the file") }
            if got == 0 { break }
            count += got
        }
        guard count <= maximumFileSize else { return tooLarge }
        // A byte-order mark, which some editors write, is not part of the text.
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let body = data[..<count].starts(with: bom) ? data[bom.count..<count] : data[..<count]
        guard let text = String(validating: body, as: UTF8.self) else {
            return SourceFile(path: path, problem: "the file is not UTF-8 text")
        }
        return SourceFile(path: path, text: text)
    }
}
