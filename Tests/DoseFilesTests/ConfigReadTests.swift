import DoseCore
import DoseFiles
import Foundation
import Testing

/// How a config file is read: whole when it is a regular file of at most 1 MiB, else refused with
/// the reason and never waited on.
@Suite("Reading config files")
struct ConfigReadTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("config-read-\(UUID().uuidString)")

    init() throws {
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("medications"), withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent("medications/\(name)").path }

    @Test("a file over 1 MiB is refused with its size, unread; one of exactly 1 MiB is read; the other files load")
    func tooLarge() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let medication = "name = \"Tablet\"\n[[schedule]]\nid = \"am\"\non = \"08:00\"\n"
        // Valid TOML either way: a medication, then a comment as long as the size asks.
        func write(_ name: String, size: Int) throws {
            let head = medication + "#"
            try (head + String(repeating: "x", count: size - head.utf8.count - 1) + "\n").write(toFile: path(name), atomically: false, encoding: .utf8)
        }
        try write("big.toml", size: ConfigDirectory.maximumFileSize + 1)
        try write("limit.toml", size: ConfigDirectory.maximumFileSize)
        try medication.write(toFile: path("small.toml"), atomically: false, encoding: .utf8)
        #expect(ConfigDirectory.read(path("big.toml")).problem == "the file is 1048577 bytes; a configuration file may be at most 1 MiB")
        #expect(ConfigDirectory.read(path("limit.toml")).text.utf8.count == ConfigDirectory.maximumFileSize)
        let load = ConfigDirectory.load(dir.path)
        #expect(load.configuration.medications.map(\.id) == ["limit", "small"])
        #expect(load.errors.map(\.file) == [path("big.toml")], "\(load.errors)")
    }

    @Test("a FIFO or a device is not a regular file: refused at once, never waited on or read")
    func notRegular() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(mkfifo(path("fifo.toml"), 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: path("zero.toml"), withDestinationPath: "/dev/zero")
        #expect(ConfigDirectory.read(path("fifo.toml")).problem == "not a regular file")
        #expect(ConfigDirectory.read(path("zero.toml")).problem == "not a regular file")
        #expect(ConfigDirectory.read(path("absent.toml")).problem == "cannot read the file")
    }

    @Test("text that is not UTF-8 is refused; UTF-8 is read as it is, without a byte-order mark")
    func encoding() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data([0x6e, 0x61, 0x6d, 0x65, 0xff]).write(to: URL(fileURLWithPath: path("latin.toml")))
        try "name = \"Ünïcode — ok\"\n".write(toFile: path("utf8.toml"), atomically: false, encoding: .utf8)
        #expect(ConfigDirectory.read(path("latin.toml")).problem == "the file is not UTF-8 text")
        #expect(ConfigDirectory.read(path("utf8.toml")).text == "name = \"Ünïcode — ok\"\n")
        // A byte-order mark is dropped, as before.
        try Data([0xEF, 0xBB, 0xBF] + Array("name = \"M\"\n".utf8)).write(to: URL(fileURLWithPath: path("bom.toml")))
        #expect(ConfigDirectory.read(path("bom.toml")).text == "name = \"M\"\n")
    }
}
