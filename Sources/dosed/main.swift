import DoseDaemon
import Foundation
import Logging

// dosed: parse the flags, build the daemon, start it, and serve until SIGTERM.
LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
let logger = Logger(label: "dosed")
do {
    let daemon = try buildDaemon(arguments: Array(CommandLine.arguments.dropFirst()), logger: logger)
    try daemon.start()
    dispatchMain()
} catch let usage as DaemonCommandLine.UsageError {
    FileHandle.standardError.write(Data((usage.description + "\n").utf8))
    exit(usage.isHelp ? 0 : 2)
} catch {
    FileHandle.standardError.write(Data("dosed: \(error)\n".utf8))
    exit(1)
}
