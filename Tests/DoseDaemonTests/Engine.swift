import DoseCore
@testable import DoseDaemon
import DoseFiles
import DoseSystemd
import Foundation
import Logging

/// A daemon over a temporary config dir holding one medication file, `demo.toml`, with its
/// engine started (no socket, nothing journaled): for tests that drive the engine directly.
/// The caller removes `root`.
func startedEngine(demo text: String) throws -> (daemon: Daemon, paths: Paths, root: URL) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("dosed-engine-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: root.appendingPathComponent("config/medications"), withIntermediateDirectories: true)
    try text.write(to: root.appendingPathComponent("config/medications/demo.toml"), atomically: false, encoding: .utf8)
    let paths = Paths(Paths.Flags(config: root.path + "/config", state: root.path + "/state", socket: root.path + "/dosed.sock"))
    let daemon = try Daemon(paths: paths, logger: Logger(label: "test"), journal: Journal(toJournal: false, toStderr: false))
    try daemon.queue.sync { try daemon.startEngine() }
    return (daemon, paths, root)
}
