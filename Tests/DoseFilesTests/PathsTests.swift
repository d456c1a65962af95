import DoseCore
import DoseFiles
import Foundation
import Testing

@Suite("Paths (SPEC 2)")
struct PathsTests {
    @Test("flags win over the environment, which wins over XDG defaults")
    func precedence() throws {
        let env = ["HOME": "/home/ann", "DOSED_CONFIG_DIR": "/env/config", "XDG_STATE_HOME": "/xdg/state",
                   "XDG_RUNTIME_DIR": "/run/user/1000"]
        let paths = Paths(.init(config: "/flag/config"), environment: env)
        #expect(paths.config == "/flag/config")
        #expect(paths.state == "/xdg/state/dosed")
        #expect(try paths.socket() == "/run/user/1000/dosed/dosed.sock")
        #expect(Paths(.init(), environment: env).config == "/env/config")
        #expect(Paths(.init(), environment: ["HOME": "/home/ann"]).config == "/home/ann/.config/dosed")
    }

    @Test("system mode uses /etc, /var/lib and /run; systemd's STATE_DIRECTORY and RUNTIME_DIRECTORY count")
    func system() throws {
        let paths = Paths(.init(system: true), environment: [:])
        #expect(paths.config == "/etc/dosed")
        #expect(paths.state == "/var/lib/dosed")
        #expect(try paths.socket() == "/run/dosed/dosed.sock")
        let unit = Paths(.init(system: true), environment: ["STATE_DIRECTORY": "/var/lib/x", "RUNTIME_DIRECTORY": "/run/x"])
        #expect(unit.state == "/var/lib/x")
        #expect(try unit.socket() == "/run/x/dosed.sock")
    }

    @Test("without XDG_RUNTIME_DIR: /run/user/<uid> when it exists, else an error naming --socket")
    func runtimeFallback() throws {
        let paths = Paths(.init(), environment: ["HOME": "/h"])
        #expect(try paths.socket(userID: 1000, directoryExists: { $0 == "/run/user/1000" }) == "/run/user/1000/dosed/dosed.sock")
        #expect(throws: Paths.NoSocketError.self) { try paths.socket(userID: 1000, directoryExists: { _ in false }) }
        do {
            _ = try paths.socket(userID: 1000, directoryExists: { _ in false })
        } catch {
            #expect(error.description.contains("--socket"))
        }
    }
}

@Suite("The system's zone")
struct SystemZoneTests {
    @Test("TZ first, then the zone /etc/localtime links to, then /etc/timezone")
    func order() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let link = dir.appendingPathComponent("localtime").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/usr/share/zoneinfo/Pacific/Chatham")
        let file = dir.appendingPathComponent("timezone").path
        try "Asia/Tokyo\n".write(toFile: file, atomically: false, encoding: .utf8)
        #expect(ConfigDirectory.zones(environment: ["TZ": ":Europe/London"], localtime: link, timezoneFile: file).system.identifier == "Europe/London")
        #expect(ConfigDirectory.zones(environment: [:], localtime: link, timezoneFile: file).system.identifier == "Pacific/Chatham")
        #expect(ConfigDirectory.zones(environment: [:], localtime: dir.path + "/none", timezoneFile: file).system.identifier == "Asia/Tokyo")
    }

    @Test("a zone exists when TZDIR has its file, as systemd checks it (not ICU's custom names)")
    func database() throws {
        // Given the system's tz database
        let system = ConfigDirectory.zones(environment: [:])
        // Then names with a file are zones, ICU's customs and unknown names are not
        for name in ["Europe/London", "Etc/GMT+5", "US/Eastern", "UTC"] { #expect(system.named(name) != nil, "\(name)") }
        for name in ["GMT+5", "Mars/Olympus", "Europe/", "../etc/passwd"] { #expect(system.named(name) == nil, "\(name)") }
        // Given a TZDIR holding London alone
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tzdir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("Europe"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = FileManager.default.createFile(atPath: dir.path + "/Europe/London", contents: Data())
        let alone = ConfigDirectory.zones(environment: ["TZDIR": dir.path, "TZ": "Asia/Tokyo"], localtime: "/none", timezoneFile: "/none")
        // Then only London (and UTC) are zones, and a TZ naming another falls back
        #expect(alone.named("Europe/London") != nil && alone.named("UTC") != nil)
        #expect(alone.named("Asia/Tokyo") == nil)
        #expect(alone.system.identifier != "Asia/Tokyo")
    }
}

@Suite("Config edits (SPEC 8)")
struct ConfigEditorTests {
    @Test("a refused edit says why as a case a caller can match, and changes nothing")
    func refusals() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let editor = ConfigEditor(directory: dir)
        func refusal(_ medication: String, _ change: (inout TOMLDocument?) throws -> Void) -> ConfigEditor.EditError? {
            do {
                _ = try editor.edit(medication: medication, dryRun: false, change)
                return nil
            } catch {
                return error as? ConfigEditor.EditError
            }
        }
        guard case .noConfigDirectory(dir)? = refusal("m", { _ in }) else { Issue.record("no directory"); return }
        try FileManager.default.createDirectory(atPath: dir + "/medications", withIntermediateDirectories: true)
        guard case .invalidID("../../victim")? = refusal("../../victim", { _ in }) else { Issue.record("path traversal"); return }
        let bad = refusal("m") { document in
            var new = TOMLDocument()
            new["name"] = .string("M")
            new["bogus"] = .literal("1")
            document = new
        }
        guard case .refused(let errors)? = bad else { Issue.record("an invalid file is refused: \(String(describing: bad))"); return }
        #expect(errors.errors.first?.file == dir + "/medications/m.toml")
        #expect(!FileManager.default.fileExists(atPath: dir + "/medications/m.toml"))
    }
}
