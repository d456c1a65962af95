import DoseFiles
import Foundation
import Logging

/// dosed's command line: the same path flags as dosectl (SPEC 2).
public enum DaemonCommandLine {
    public static let usage = """
        usage: dosed [--config DIR] [--state DIR] [--socket PATH] [--system]
        Runs the dosed reminder daemon in the foreground (journal entries also go to stderr on a terminal).
        """

    /// The flags, or a usage message.
    public static func parse(_ arguments: [String]) -> Result<Paths.Flags, UsageError> {
        var flags = Paths.Flags()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            let (name, inline) = argument.split(separator: "=", maxSplits: 1).map(String.init).splitFirst()
            switch name {
            case "--system" where inline == nil:
                flags.system = true
            case "--config", "--state", "--socket":
                guard let value = inline ?? rest.popFirst(), !value.isEmpty else {
                    return .failure(UsageError(description: "\(name) needs a value\n\(usage)"))
                }
                switch name {
                case "--config": flags.config = value
                case "--state": flags.state = value
                default: flags.socket = value
                }
            case "-h", "--help":
                return .failure(UsageError(description: usage, isHelp: true))
            default:
                return .failure(UsageError(description: "unknown argument '\(argument)'\n\(usage)"))
            }
        }
        return .success(flags)
    }

    /// A command line that could not be read (or a request for help).
    public struct UsageError: Error, CustomStringConvertible {
        public var description: String
        public var isHelp = false
    }
}

extension Array where Element == String {
    fileprivate func splitFirst() -> (String, String?) { (self[0], count > 1 ? self[1] : nil) }
}

/// Builds the daemon from its command line and environment, as `dosed`'s main does and tests do.
public func buildDaemon(arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                        logger: Logger) throws -> Daemon {
    let flags = try DaemonCommandLine.parse(arguments).get()
    return try Daemon(paths: Paths(flags, environment: environment), logger: logger)
}
