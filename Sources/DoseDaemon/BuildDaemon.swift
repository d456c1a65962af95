import DoseFiles
import Foundation
import Logging

/// Builds the daemon from its flags and environment, as `dosed`'s main does and tests do.
public func buildDaemon(flags: Paths.Flags, environment: [String: String] = ProcessInfo.processInfo.environment,
                        logger: Logger) throws -> Daemon {
    try Daemon(paths: Paths(flags, environment: environment), logger: logger)
}
