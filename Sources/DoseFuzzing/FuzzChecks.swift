import DoseCore
import DoseDaemon
import DoseFiles
import DoseProtocol
import DoseSystemd
import Foundation
import Logging

/// The properties the fuzz targets check (FuzzTesting/), one function per input format. Each
/// returns what went wrong (empty when all holds); a trap inside is a crash the fuzzer reports.
/// `make test` replays every corpus and regression input through the same functions.
public enum FuzzChecks {
    /// A fixed instant, so every input behaves the same on every run: 2026-11-30T12:00:00Z.
    static let now: Micros = 1_795_950_000 * Civil.second + 600 * Civil.second
    /// The zones names are checked against: this machine's tz database, as the daemon's; UTC the
    /// system's zone, whatever this machine's is.
    static let zones: ZoneDatabase = {
        var zones = ConfigDirectory.zones()
        zones.system = .utc
        return zones
    }()

    // MARK: - Config files

    /// Input: `dosed.toml`, a NUL byte, then a medication file (no NUL: a medication file only).
    /// Properties: decoding never traps; a medication that decodes is written back by the
    /// editor's TOML writer and decodes to the same medication; its first due times increase.
    public static func config(_ bytes: [UInt8]) -> [String] {
        let parts = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        let mainBytes = parts.count > 1 ? parts[0] : []
        let medicationBytes = parts.count > 1 ? parts[1] : parts.first ?? []
        guard let medicationText = String(validating: medicationBytes, as: UTF8.self),
              let mainText = String(validating: mainBytes, as: UTF8.self) else { return [] }
        let main = mainText.isEmpty ? nil : SourceFile(path: "dosed.toml", text: mainText)
        let file = SourceFile(path: "medications/fuzz.toml", text: medicationText)
        let load = ConfigDecoder.load(main: main, medications: [file], zones: zones)
        var problems: [String] = []
        for error in load.errors where error.line < 1 || error.column < 1 {
            problems.append("error without a position: \(error)")
        }
        guard let medication = load.configuration.medication("fuzz") else { return problems }
        // Round trip through the writer dosectl edits with.
        do {
            let document = try TOMLDocument(parsing: medicationText)
            let again = ConfigDecoder.load(main: main, medications: [SourceFile(path: file.path, text: document.text())],
                                           zones: zones)
            if again.configuration.medication("fuzz") != medication {
                problems.append("re-encoded medication decodes differently: \(again.errors.map(\.description))")
            }
        } catch {
            // The writer reads a subset of TOML; a file it cannot read is not written by it.
        }
        // Upcoming doses come in time order; two schedules may be due at the same instant, one
        // schedule never twice at one (so each schedule's due times strictly increase).
        let upcoming = load.configuration.upcoming(after: now, count: 20)
        for (a, b) in zip(upcoming, upcoming.dropFirst()) where b.due < a.due {
            problems.append("upcoming doses out of order: \(b.id) after \(a.id)")
        }
        for schedule in Set(upcoming.map(\.schedule)).sorted() {
            problems += increasing(upcoming.filter { $0.schedule == schedule }.map(\.due), "upcoming doses of \(schedule)")
        }
        var machine = ReminderMachine(config: load.configuration, snapshot: .init(lastAlive: now - Civil.day), now: now)
        _ = machine.start(now: now)
        if let deadline = machine.nextDeadline(), deadline < now - Civil.day - DurationText.maximum {
            problems.append("next deadline \(deadline) before the catch-up")
        }
        return problems
    }

    // MARK: - Calendar expressions

    /// Input: an expression. Properties: parsing never traps; an accepted expression's due times
    /// strictly increase, and each matches the expression (its next after one microsecond before).
    public static func calendar(_ bytes: [UInt8]) -> [String] {
        guard let text = String(validating: bytes, as: UTF8.self), text.utf8.count < 512,
              let expression = try? CalendarExpression(parsing: text, zones: zones) else { return [] }
        let zone = expression.zoneIdentifier.flatMap(ZoneRules.named) ?? ZoneRules.named("Europe/London")!
        var times: [Micros] = []
        var after = now
        for _ in 0..<12 {
            guard let next = expression.next(after: after, in: zone) else { break }
            times.append(next)
            if expression.next(after: next - 1, in: zone) != next {
                return ["'\(text)': \(next) is not its own next after \(next - 1)"]
            }
            after = next
        }
        return increasing(times, "'\(text)'")
    }

    // MARK: - Durations and times

    /// Input: a duration or a time as the CLI and config take them. Properties: parsing never
    /// traps; a duration stays within its limit and formats back to the same duration; a time is
    /// within the years a due time may have.
    public static func timeInput(_ bytes: [UInt8]) -> [String] {
        guard let text = String(validating: bytes, as: UTF8.self), text.utf8.count < 256 else { return [] }
        var problems: [String] = []
        if case .success(let micros) = DurationText.parse(text) {
            if micros < 0 || micros > DurationText.maximum { problems.append("duration '\(text)' = \(micros) out of range") }
            let formatted = DurationText.format(micros)
            if micros % Civil.second == 0, (try? DurationText.parse(formatted).get()) != micros {
                problems.append("duration '\(text)' formats as '\(formatted)', which reads differently")
            }
        }
        for zone in [ZoneRules.utc, ZoneRules.named("Pacific/Chatham")!] {
            if let instant = TimeInput.parse(text, zone: zone, now: now, allowsDuration: true) {
                _ = RFC3339.utc(instant)
                _ = RFC3339.local(instant, offset: zone.offset(at: instant))
            }
        }
        if let instant = RFC3339.parse(text), let again = RFC3339.parse(RFC3339.utc(instant)), again != instant {
            problems.append("'\(text)' does not survive formatting")
        }
        return problems
    }

    // MARK: - Requests to a real daemon

    /// A daemon on a fixed config in a temporary directory, its socket not bound: the engine,
    /// the machine and the history are real.
    nonisolated(unsafe) static var daemon: Daemon?
    nonisolated(unsafe) static var daemonRoot: String?

    /// Removes the request target's temporary directory (also done at exit).
    public static func removeDaemonFiles() {
        if let daemonRoot { try? FileManager.default.removeItem(atPath: daemonRoot) }
    }

    static func makeDaemon() throws -> Daemon {
        if let daemon { return daemon }
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let root = base + "/dosed-fuzz-\(getpid())"
        daemonRoot = root
        atexit { FuzzChecks.removeDaemonFiles() }
        try FileManager.default.createDirectory(atPath: root + "/config/medications", withIntermediateDirectories: true)
        let first = RFC3339.utc(Micros(Date().timeIntervalSince1970 - 600) * Civil.second)
        try """
            name = "Interferon"
            dose = "3 MU"
            sites = ["left", "right"]
            stock = 1000
            refill_at = 2
            [[schedule]]
            id = "hourly"
            every = "1h"
            first = \(first)
            window = "50m"
            [[schedule]]
            id = "evening"
            on = "*-*-* 20:00"
            """.write(toFile: root + "/config/medications/interferon.toml", atomically: false, encoding: .utf8)
        try "name = \"Paracetamol\"\nstock = 5\n".write(toFile: root + "/config/medications/paracetamol.toml", atomically: false, encoding: .utf8)
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        let flags = Paths.Flags(config: root + "/config", state: root + "/state", socket: root + "/dosed.sock")
        let made = try Daemon(paths: Paths(flags), logger: logger, journal: Journal(toJournal: false, toStderr: false))
        daemon = made
        return made
    }

    /// Input: one socket line. Properties: handling never traps; the reply is exactly what
    /// JSON-RPC 2.0 asks: none for notifications, else one well-formed reply per request (an
    /// array for a batch), each with the request's id; the daemon answers `status` after it.
    public static func request(_ bytes: [UInt8]) -> [String] {
        guard let line = String(validating: bytes, as: UTF8.self), !line.contains("\n"), bytes.count <= 64 * 1024 else { return [] }
        let daemon: Daemon
        do { daemon = try makeDaemon() } catch { return ["cannot make a daemon: \(error)"] }
        let reply = daemon.respond(to: line)
        var problems = checkReply(to: line, reply)
        let status = daemon.respond(to: #"{"jsonrpc":"2.0","id":0,"method":"status"}"#)
        if status.flatMap({ try? JSONReader.parse($0) })?["result"] == nil { problems.append("status fails after '\(line)'") }
        return problems
    }

    /// The replies JSON-RPC 2.0 expects for `line`, checked against `reply`.
    static func checkReply(to line: String, _ reply: String?) -> [String] {
        let request = try? JSONReader.parse(line)
        var expected: [JSONValue?] = []  // the id each reply must carry, in order
        switch request {
        case nil:
            expected = [.null]
        case .array(let items)? where items.isEmpty || items.count > 100:
            expected = [.null]
        case .array(let items)?:
            for item in items { if let id = expectedID(item) { expected.append(id) } }
        case let value?:
            if let id = expectedID(value) { expected = [id] }
        }
        guard let reply else {
            return expected.isEmpty ? [] : ["no reply to '\(line)'"]
        }
        guard let parsed = try? JSONReader.parse(reply) else { return ["reply is not JSON: \(reply)"] }
        let replies: [JSONValue]
        if case .array(let items) = request ?? .null, !items.isEmpty, items.count <= 100 {
            guard case .array(let list) = parsed else { return ["a batch got no array: \(reply)"] }
            replies = list
        } else {
            replies = [parsed]
        }
        guard replies.count == expected.count else { return ["\(replies.count) replies for \(expected.count) requests: '\(line)'"] }
        var problems: [String] = []
        for (one, id) in zip(replies, expected) {
            guard case .object(let object) = one, object["jsonrpc"] == .string("2.0"), object.keys.contains("id") else {
                problems.append("malformed reply \(RPCMessage.line(one))")
                continue
            }
            if (object["result"] == nil) == (object["error"] == nil) { problems.append("reply needs exactly one of result and error: \(RPCMessage.line(one))") }
            if let error = object["error"] {
                guard error["code"]?.intValue != nil, error["message"]?.stringValue != nil else {
                    problems.append("malformed error \(RPCMessage.line(one))")
                    continue
                }
            }
            if let id, object["id"] != id { problems.append("reply id \(RPCMessage.line(object["id"] ?? .null)) for \(RPCMessage.line(id))") }
        }
        return problems
    }

    /// nil: a notification (no reply); `.some(nil)`: a reply whose id cannot be predicted here;
    /// else the id the reply carries.
    private static func expectedID(_ item: JSONValue) -> JSONValue?? {
        switch RPCRequest.parse(item) {
        case .failure(let failure): return .some(failure.id)
        case .success(let request): return request.id.map { .some($0) } ?? nil
        }
    }

    static func increasing(_ times: [Micros], _ what: String) -> [String] {
        for (a, b) in zip(times, times.dropFirst()) where b <= a { return ["\(what): \(b) does not come after \(a)"] }
        return []
    }
}
