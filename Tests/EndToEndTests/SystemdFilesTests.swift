import DoseCore
import Foundation
import Testing

/// The units and the catalog of `systemd/` (SPEC 7).
@Suite("systemd units and catalog")
struct SystemdFilesTests {
    static let analyze = "/usr/bin/systemd-analyze"
    static var hasAnalyze: Bool { FileManager.default.isExecutableFile(atPath: analyze) }

    /// The units, with ExecStart pointing at the built dosed, in a temporary dir under /tmp: its
    /// `runtime` becomes XDG_RUNTIME_DIR, where systemd places the user's other sockets (gpg-agent's),
    /// and those paths must fit a socket address (108 bytes) wherever the checkout lives.
    static func units() throws -> URL {
        let dir = URL(fileURLWithPath: "/tmp").appendingPathComponent("dosed-u-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("runtime"), withIntermediateDirectories: true)
        for name in ["dosed.service", "dosed.socket", "dosed-system.service"] {
            let text = try String(contentsOf: packageRoot.appendingPathComponent("systemd/\(name)"), encoding: .utf8)
            try text.replacingOccurrences(of: "/usr/local/bin/dosed", with: product("dosed").path)
                .write(to: dir.appendingPathComponent(name), atomically: false, encoding: .utf8)
        }
        return dir
    }

    @Test("every unit passes systemd-analyze verify", .enabled(if: hasAnalyze))
    func verify() throws {
        let dir = try Self.units()
        defer { try? FileManager.default.removeItem(at: dir) }
        let system = try execute(Self.analyze, ["verify", "--man=no", dir.appendingPathComponent("dosed-system.service").path])
        #expect(system.status == 0, "\(system.stderr)")
        #expect(system.stderr.isEmpty, "\(system.stderr)")
        let user = try execute(Self.analyze, ["--user", "verify", "--man=no", dir.appendingPathComponent("dosed.service").path,
                                              dir.appendingPathComponent("dosed.socket").path],
                               environment: ["XDG_RUNTIME_DIR": dir.appendingPathComponent("runtime").path])
        #expect(user.status == 0, "\(user.stderr)")
        #expect(user.stderr.isEmpty, "\(user.stderr)")
    }

    @Test("the system unit's exposure is at most 2.0", .enabled(if: hasAnalyze))
    func security() throws {
        let dir = try Self.units()
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try execute(Self.analyze, ["security", "--offline=true", "--no-pager",
                                                 dir.appendingPathComponent("dosed-system.service").path])
        let line = try #require(outcome.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let figure = try #require(line.split(separator: " ").compactMap { Double($0) }.first)
        #expect(figure <= 2.0, "\(line)")
    }

    @Test("the catalog explains every MESSAGE_ID and compiles", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/journalctl")))
    func catalog() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dosed-catalog-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("usr/lib/systemd/catalog")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: packageRoot.appendingPathComponent("systemd/dosed.catalog"),
                                        to: dir.appendingPathComponent("dosed.catalog"))
        #expect(try execute("/usr/bin/journalctl", ["--root=\(root.path)", "--update-catalog"]).status == 0)
        let listed = try execute("/usr/bin/journalctl", ["--root=\(root.path)", "--list-catalog"]).stdout
        for kind in Event.Kind.allCases {
            #expect(listed.contains("\(kind.messageID) dosed: "), "\(kind.rawValue) has no catalog entry")
        }
    }
}
