import DoseCore
import DoseFiles
import DoseProtocol
import DoseStore
import DoseSystemd
import Foundation
import Logging

/// The running service: the reminder machine on wall-clock timers, the history, the journal and
/// the socket (SPEC 5 and 6).
///
/// Every piece of state lives on one serial queue. Timers, the socket, signals, the clock watcher
/// and the config watcher only enqueue work there; the machine decides, this class performs its
/// actions: save first, then tell (journal, subscribers, hooks).
public final class Daemon: @unchecked Sendable {
    let queue = DispatchQueue(label: "dosed.engine")
    private var machine: ReminderMachine
    private let store: HistoryStore
    private let journal: Journal
    private let hooks: HookRunner
    private let paths: Paths
    private let socketPath: String
    private let logger: Logger
    private let started: Micros
    private var server: SocketServer?
    private var subscribers: [Connection: Set<String>?] = [:]
    private let timer: any DispatchSourceTimer
    private let notifier = Notifier()
    private var watchdog: (any DispatchSourceTimer)?
    private var lastStatus = ""
    private var watchers: [AnyObject] = []
    private var signalSources: [any DispatchSourceSignal] = []

    /// Loads the configuration and the history, binds the socket: everything that can fail at start.
    public init(paths: Paths, logger: Logger, journal: Journal = Journal()) throws {
        self.paths = paths
        self.logger = logger
        self.journal = journal
        hooks = HookRunner { name, what in journal.send(HookRunner.failure(name, what)) }
        socketPath = try paths.socket()
        let config: Configuration
        switch ConfigDirectory.load(paths.config) {
        case .success(let loaded): config = loaded
        case .failure(let errors): throw StartError(description: errors.description)
        }
        let mode = paths.flags.system ? 0o750 : 0o700
        do {
            store = try HistoryStore(path: paths.state + "/" + HistoryStore.fileName, directoryMode: mode)
        } catch {
            throw StartError(description: "\(error)")
        }
        let now = Self.now()
        started = now
        let longest = config.medications.flatMap(\.schedules).map(\.window).max() ?? 0
        machine = ReminderMachine(config: config, snapshot: try store.snapshot(longestWindow: longest), now: now)
        timer = DispatchSource.makeTimerSource(queue: queue)
    }

    /// Why the daemon could not start.
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    static func now() -> Micros {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Micros(spec.tv_sec) * Civil.second + Micros(spec.tv_nsec / 1000)
    }

    // MARK: - Running

    /// Catches up, arms the timers, serves the socket, then tells systemd `READY=1`.
    public func start() throws {
        if let activated = Notifier.listeningSocket() {
            // Socket activation: systemd made and owns the socket (dosed.socket).
            server = try SocketServer(path: socketPath, descriptor: activated, mode: 0, delegate: self, logger: logger)
        } else {
            let directory = (socketPath as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: paths.flags.system ? 0o750 : 0o700])
            server = try SocketServer(
                path: socketPath, mode: paths.flags.system ? 0o660 : 0o600, delegate: self, logger: logger)
            if paths.flags.system, let group = getgrnam("dosed") { chown(socketPath, getuid(), group.pointee.gr_gid) }
        }
        try queue.sync {
            timer.setEventHandler { [unowned self] in self.tick() }
            timer.resume()
            let now = Self.now()
            try store.noteSchedulesSeen(scheduleKeys(machine.config), at: now)
            var loaded = Event(kind: .configLoaded)
            loaded.summary = summary(machine.config)
            perform(machine.start(now: now) + [.emit(loaded)], alive: now)
            rearm()
            notifier.ready(status: lastStatus)
            startWatchdog()
        }
        if let clock = ClockWatcher(queue: queue, changed: { [unowned self] in
            self.logger.info("the clock was set: catching up")
            self.tick()
        }) { watchers.append(clock) }
        if let config = ConfigWatcher(directory: paths.config, queue: queue, changed: { [unowned self] in
            _ = self.reload()
        }) { watchers.append(config) }
        for signalNumber in [SIGHUP, SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [unowned self] in
                if signalNumber == SIGHUP { _ = self.reload() } else { self.stop() }
            }
            source.resume()
            signalSources.append(source)
        }
        logger.info("dosed started: \(machine.config.scheduleCount) schedule(s), socket \(socketPath)")
    }

    /// Stops serving, records the time, and exits.
    public func stop() {
        notifier.stopping()
        server?.shutdown()
        try? store.setLastAlive(Self.now())
        logger.info("dosed stopped")
        exit(0)
    }

    private func tick() {
        let now = Self.now()
        perform(machine.advance(to: now), alive: now, tellFirst: true)
        rearm()
    }

    /// `WATCHDOG=1` at half of `WATCHDOG_USEC`, from the engine's queue: a stuck engine stops
    /// the pings and systemd restarts the daemon.
    private func startWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        let source = DispatchSource.makeTimerSource(queue: queue)
        let half = DispatchTimeInterval.microseconds(Int(interval / 2))
        source.schedule(deadline: .now() + half, repeating: half, leeway: .milliseconds(100))
        source.setEventHandler { [notifier] in notifier.watchdog() }
        source.resume()
        watchdog = source
    }

    /// `STATUS=`: what is due, and the next dose.
    private func statusText(now: Micros) -> String {
        let config = machine.config
        let due = machine.due(at: now).count
        var text = due == 0 ? "Nothing due" : "\(due) dose(s) due"
        if let next = config.upcoming(after: now, count: 1).first, let medication = config.medication(next.medication) {
            let zone = medication.schedule(next.schedule).map(config.zone(for:)) ?? config.zone
            text += "; next: \(medication.name) at \(RFC3339.local(next.due, offset: zone.offset(at: next.due)))"
        }
        return text
    }

    /// Sets the one wall-clock timer to the machine's next deadline, and refreshes `STATUS=`.
    private func rearm() {
        let status = statusText(now: Self.now())
        if status != lastStatus {
            lastStatus = status
            notifier.status(status)
        }
        guard let deadline = machine.nextDeadline() else {
            timer.schedule(wallDeadline: .distantFuture)
            return
        }
        var spec = timespec()
        spec.tv_sec = Int(Civil.floorDiv(deadline, Civil.second))
        spec.tv_nsec = Int((deadline - Micros(spec.tv_sec) * Civil.second) * 1000)
        timer.schedule(wallDeadline: DispatchWallTime(timespec: spec), leeway: .microseconds(500))
    }

    /// Saves what the actions save (one transaction) and emits their events.
    ///
    /// Answers are saved first: they are acknowledged only once durable. Reminders are told
    /// first (`tellFirst`): a crash between the two may then repeat a reminder after restart,
    /// never drop one, and the reminder does not wait for the disk.
    @discardableResult
    private func perform(_ actions: [ReminderMachine.Action], alive: Micros? = nil, tellFirst: Bool = false) -> Bool {
        var records: [DoseRecord] = []
        var stock: [(String, ReminderMachine.Stock)] = []
        var events: [Event] = []
        for action in actions {
            switch action {
            case .save(let record): records.append(record)
            case .saveStock(let medication, let value): stock.append((medication, value))
            case .emit(let event): events.append(event)
            }
        }
        if tellFirst { for event in events { emit(event) } }
        var saved = true
        do {
            try store.apply(records: records, stock: stock, alive: alive)
        } catch {
            saved = false
            logger.error("could not write the history: \(error)")
        }
        if !tellFirst && saved { for event in events { emit(event) } }
        return saved
    }

    private func emit(_ event: Event) {
        let config = machine.config
        journal.send(EventFields.fields(event, config: config))
        if !subscribers.isEmpty {
            let params: JSONValue
            if let record = event.dose {
                params = (try? JSONValue(encoding: DoseMessage(record, config: config, now: Self.now()))) ?? .null
            } else {
                var object: [String: JSONValue] = ["message": .string(EventFields.message(event, config: config))]
                if let medication = event.medication { object["medication"] = .string(medication) }
                if let stock = event.stock { object["stock"] = .number(Double(stock)) }
                if let error = event.error { object["error"] = .string(error) }
                params = .object(object)
            }
            let line = RPCMessage.line(RPCMessage.notification(method: event.kind.rawValue, params: params))
            for (connection, filter) in subscribers where filter?.contains(event.kind.rawValue) ?? true {
                connection.send(line)
            }
        }
        if let (name, command) = HookRunner.command(for: event, hooks: config.hooks) {
            hooks.run(name, command, environment: EventFields.environment(event, config: config))
        }
    }

    // MARK: - Reload

    /// Re-reads the config dir; an invalid one is refused with a `config-error` event.
    func reload() -> Result<Int, RPCError> {
        notifier.reloading()
        defer { notifier.ready(status: lastStatus) }
        switch ConfigDirectory.load(paths.config) {
        case .failure(let errors):
            var event = Event(kind: .configError)
            event.error = errors.description
            emit(event)
            return .failure(RPCError(code: RPCErrorCode.invalidConfiguration, message: errors.description))
        case .success(let config):
            let now = Self.now()
            try? store.noteSchedulesSeen(scheduleKeys(config), at: now)
            var loaded = Event(kind: .configLoaded)
            loaded.summary = summary(config)
            perform(machine.reload(config, now: now) + [.emit(loaded)], alive: now)
            rearm()
            return .success(config.scheduleCount)
        }
    }

    private func scheduleKeys(_ config: Configuration) -> [(String, String)] {
        config.medications.flatMap { m in m.schedules.map { (m.id, $0.id) } }
    }

    private func summary(_ config: Configuration) -> String {
        "\(config.medications.count) medication(s), \(config.scheduleCount) schedule(s) from \(paths.config)"
    }
}

// MARK: - The socket's methods (SPEC 6)

extension Daemon: SocketDelegate {
    public func admits(uid: UInt32, gid: UInt32) -> Bool {
        uid == getuid() || uid == 0 || (paths.flags.system && isMember(uid: uid, gid: gid, of: "dosed"))
    }

    public func received(_ line: String, from connection: Connection) {
        queue.async { [self] in
            if let reply = handle(line, from: connection) { connection.send(reply) }
        }
    }

    public func closed(_ connection: Connection) {
        queue.async { [self] in _ = subscribers.removeValue(forKey: connection) }
    }

    /// The reply line to a request line, or nil (notifications only).
    func handle(_ line: String, from connection: Connection) -> String? {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)) else {
            return RPCMessage.line(RPCMessage.error(id: .null, RPCError(code: RPCErrorCode.parseError, message: "parse error: not JSON")))
        }
        if case .array(let items) = value {
            guard !items.isEmpty else {
                return RPCMessage.line(RPCMessage.error(id: .null, RPCError(code: RPCErrorCode.invalidRequest, message: "empty batch")))
            }
            let replies = items.compactMap { handle($0, from: connection) }
            return replies.isEmpty ? nil : RPCMessage.line(.array(replies))
        }
        return handle(value, from: connection).map(RPCMessage.line)
    }

    private func handle(_ value: JSONValue, from connection: Connection) -> JSONValue? {
        switch RPCRequest.parse(value) {
        case .failure(let failure):
            return RPCMessage.error(id: failure.id, failure.error)
        case .success(let request):
            let result = dispatch(request, from: connection)
            guard let id = request.id else { return nil }
            switch result {
            case .success(let value): return RPCMessage.result(id: id, value)
            case .failure(let error): return RPCMessage.error(id: id, error)
            }
        }
    }

    private func params<T: Decodable>(_ request: RPCRequest, as type: T.Type) -> Result<T, RPCError> {
        do {
            return .success(try (request.params ?? .object([:])).decode(as: T.self))
        } catch {
            return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "invalid params for \(request.method): \(Self.describe(error))"))
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: "missing '\(key.stringValue)'"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
            "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        default: "\(error)"
        }
    }

    private func dispatch(_ request: RPCRequest, from connection: Connection) -> Result<JSONValue, RPCError> {
        let now = Self.now()
        let config = machine.config
        func message(_ record: DoseRecord) -> JSONValue {
            (try? JSONValue(encoding: DoseMessage(record, config: config, now: now))) ?? .null
        }
        switch request.method {
        case "status":
            let due = machine.due(at: now).map { DoseMessage($0, config: config, now: now) }
            let next = config.upcoming(after: now, count: 1).first.map { upcomingMessage($0, now: now) }
            let result = StatusResult(version: dosedVersion, started: RFC3339.utc(started), schedules: config.scheduleCount,
                                      due: due, next: next)
            return .success((try? JSONValue(encoding: result)) ?? .null)
        case "upcoming":
            return params(request, as: RPCParams.Upcoming.self).flatMap { p in
                let count = p.count ?? 10
                guard (0...10_000).contains(count) else {
                    return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "count must be 0 to 10000"))
                }
                if let medication = p.medication, config.medication(medication) == nil {
                    return .failure(RPCError(code: RPCErrorCode.noSuchDose, message: "no medication \(medication)"))
                }
                let doses = config.upcoming(after: now, count: count, filter: .init(medication: p.medication, schedule: nil))
                return .success((try? JSONValue(encoding: doses.map { upcomingMessage($0, now: now) })) ?? .array([]))
            }
        case "subscribe":
            return params(request, as: RPCParams.Subscribe.self).flatMap { p in
                let known = Set(Event.Kind.allCases.map(\.rawValue))
                if let unknown = p.events?.first(where: { !known.contains($0) }) {
                    return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "unknown event '\(unknown)'"))
                }
                subscribers.updateValue(p.events.map(Set.init), forKey: connection)
                return .success(.object(["subscribed": .bool(true)]))
            }
        case "take":
            return params(request, as: RPCParams.Take.self).flatMap { p in
                target(p.dose, p.medication).flatMap { target in
                    var at: Micros?
                    if let text = p.at {
                        guard let parsed = TimeInput.parse(text, zone: config.zone, now: now) else {
                            return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "'at' is not a time: \(text)"))
                        }
                        at = parsed
                    }
                    return answer(.take(at: at, site: p.site, note: p.note), for: target, now: now).map(message)
                }
            }
        case "skip":
            return params(request, as: RPCParams.Skip.self).flatMap { p in
                target(p.dose, p.medication).flatMap { answer(.skip(reason: p.reason), for: $0, now: now).map(message) }
            }
        case "snooze":
            return params(request, as: RPCParams.Snooze.self).flatMap { p in
                guard case .success(let span) = DurationText.parse(p.for) else {
                    return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "'for' is not a duration: \(p.for)"))
                }
                return target(p.dose, p.medication).flatMap { answer(.snooze(span), for: $0, now: now).map(message) }
            }
        case "stock":
            return params(request, as: RPCParams.Stock.self).flatMap { p in
                guard config.medication(p.medication) != nil else {
                    return .failure(RPCError(code: RPCErrorCode.noSuchDose, message: "no medication \(p.medication)"))
                }
                guard (p.set == nil) != (p.add == nil) else {
                    return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "give exactly one of 'set' and 'add'"))
                }
                let saved = machine
                guard perform(machine.refill(p.medication, amount: p.set ?? p.add!, add: p.add != nil)) else {
                    machine = saved
                    return .failure(RPCError(code: -32603, message: "could not write the history"))
                }
                return .success(.object(["medication": .string(p.medication),
                                         "stock": .number(Double(machine.stock[p.medication]?.value ?? 0))]))
            }
        case "reload":
            return reload().map { .object(["schedules": .number(Double($0))]) }
        default:
            return .failure(RPCError(code: RPCErrorCode.methodNotFound, message: "no method '\(request.method)'"))
        }
    }

    private func target(_ dose: String?, _ medication: String?) -> Result<ReminderMachine.Target, RPCError> {
        switch (dose, medication) {
        case (let dose?, nil): .success(.dose(dose))
        case (nil, let medication?): .success(.medication(medication))
        default: .failure(RPCError(code: RPCErrorCode.invalidParams, message: "give exactly one of 'dose' and 'medication'"))
        }
    }

    /// Answers through the machine; the reply goes out only once the answer is on disk.
    private func answer(_ answer: ReminderMachine.Answer, for target: ReminderMachine.Target, now: Micros) -> Result<DoseRecord, RPCError> {
        let saved = machine
        switch machine.answer(answer, for: target, now: now) {
        case .failure(let error):
            return .failure(RPCError(code: error.code == .notFound ? RPCErrorCode.noSuchDose : RPCErrorCode.invalidParams,
                                     message: error.message))
        case .success(let (record, actions)):
            guard perform(actions) else {
                machine = saved
                return .failure(RPCError(code: -32603, message: "could not write the history; the answer was not recorded"))
            }
            rearm()
            return .success(record)
        }
    }

    private func upcomingMessage(_ dose: DueDose, now: Micros) -> DoseMessage {
        let config = machine.config
        let record = machine.records[dose.id] ?? {
            var record = DoseRecord(dose: dose)
            record.site = machine.suggestedSite(dose.medication)
            return record
        }()
        return DoseMessage(record, config: config, now: now)
    }
}
