import DoseCore
import DoseFiles
import Foundation

/// The daemon's start-up. Until the reminder service lands (issue #3) it validates the
/// configuration and shows the doses it will remind of.
enum DosedMain {
    static let usage = "usage: dosed [--config DIR] [--state DIR] [--socket PATH] [--system]"

    static func run(arguments: [String]) -> Int32 {
        var flags = Paths.Flags()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--system": flags.system = true
            case "--config", "--state", "--socket":
                guard let value = rest.popFirst() else { return fail("\(argument) needs a value\n\(usage)", code: 2) }
                switch argument {
                case "--config": flags.config = value
                case "--state": flags.state = value
                default: flags.socket = value
                }
            case "-h", "--help":
                print(usage)
                return 0
            default:
                return fail("unknown argument '\(argument)'\n\(usage)", code: 2)
            }
        }
        let paths = Paths(flags)
        let config: Configuration
        switch ConfigDirectory.load(paths.config) {
        case .success(let loaded): config = loaded
        case .failure(let errors): return fail(errors.description, code: 1)
        }
        let now = Micros((Date().timeIntervalSince1970 * 1_000_000).rounded(.down))
        print("dosed: configuration \(paths.config) is valid: \(config.medications.count) medication(s), \(config.scheduleCount) schedule(s).")
        print("dosed: the reminder service is not built yet (issue #3); these are the doses it will remind of:")
        for dose in config.upcoming(after: now, count: 10) {
            let zone = config.zone(for: config.medication(dose.medication)!.schedule(dose.schedule)!)
            print("  \(RFC3339.local(dose.due, offset: zone.offset(at: dose.due)))  \(dose.id)")
        }
        return 0
    }

    static func fail(_ message: String, code: Int32) -> Int32 {
        FileHandle.standardError.write(Data(("dosed: " + message + "\n").utf8))
        return code
    }
}
