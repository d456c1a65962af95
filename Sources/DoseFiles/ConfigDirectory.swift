import DoseCore
import Foundation

/// Reads a config dir (`dosed.toml` and `medications/*.toml`) from disk and decodes it.
public enum ConfigDirectory {
    /// Everything that can go wrong loading a config dir, each as `FILE:LINE:COLUMN: message`.
    public static func load(_ directory: String, systemZone: ZoneRules = systemZone()) -> Result<Configuration, ConfigErrors> {
        var errors: [ConfigError] = []
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        guard Paths.isDirectory(base) else {
            return .failure(ConfigErrors([ConfigError(file: base, line: 1, column: 1, message:
                "the config directory does not exist (create it, or pass --config DIR)")]))
        }
        let mainPath = base + "/dosed.toml"
        var main: SourceFile?
        if FileManager.default.fileExists(atPath: mainPath) {
            switch read(mainPath) {
            case .success(let file): main = file
            case .failure(let error): errors.append(error)
            }
        }
        var medications: [SourceFile] = []
        let medicationDir = base + "/medications"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: medicationDir)) ?? []
        for name in names.sorted() where name.hasSuffix(".toml") && !name.hasPrefix(".") {
            switch read(medicationDir + "/" + name) {
            case .success(let file): medications.append(file)
            case .failure(let error): errors.append(error)
            }
        }
        switch ConfigDecoder.decode(main: main, medications: medications, systemZone: systemZone) {
        case .success(let config) where errors.isEmpty: return .success(config)
        case .success: return .failure(ConfigErrors(errors))
        case .failure(let decodeErrors): return .failure(ConfigErrors(errors + decodeErrors.errors))
        }
    }

    /// The system's zone, read afresh each time (so a reload follows a change of zone): `TZ`, else
    /// the zone `/etc/localtime` links to, else `/etc/timezone`, else Foundation's, else UTC.
    public static func systemZone(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        localtime: String = "/etc/localtime", timezoneFile: String = "/etc/timezone"
    ) -> ZoneRules {
        if var tz = environment["TZ"], !tz.isEmpty {
            if tz.hasPrefix(":") { tz.removeFirst() }
            if let zone = ZoneRules.named(tz) ?? zone(linkedFrom: tz) { return zone }
        }
        if let zone = zone(linkedFrom: localtime) { return zone }
        if let text = try? String(contentsOfFile: timezoneFile, encoding: .utf8),
           let zone = ZoneRules.named(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            return zone
        }
        return ZoneRules.named(TimeZone.current.identifier) ?? .utc
    }

    /// The zone a path such as `/etc/localtime` links to (`…/zoneinfo/Europe/London`).
    private static func zone(linkedFrom path: String) -> ZoneRules? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path),
              let range = target.range(of: "zoneinfo/")
        else { return nil }
        return ZoneRules.named(String(target[range.upperBound...]))
    }

    private static func read(_ path: String) -> Result<SourceFile, ConfigError> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(ConfigError(file: path, line: 1, column: 1, message: "cannot read the file"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(ConfigError(file: path, line: 1, column: 1, message: "the file is not UTF-8 text"))
        }
        return .success(SourceFile(path: path, text: text))
    }
}
