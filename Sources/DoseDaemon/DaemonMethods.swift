import DoseCore
import DoseFiles
import DoseProtocol
import DoseStore
import DoseSystemd
import Foundation

/// The socket's methods (``RPCMethod``, SPEC 6): lines in, replies out, each request decided on
/// the engine queue.
extension Daemon: SocketDelegate {
    public func admits(uid: UInt32, gid: UInt32) -> Bool {
        uid == getuid() || uid == 0 || (paths.flags.system && isMember(uid: uid, gid: gid, of: "dosed"))
    }

    public func received(_ line: String, from connection: Connection, reply: @escaping @Sendable (String?) -> Void) {
        afterBurst.touch()
        inbox.async { [self] in
            switch Self.parse(line) {
            case .failure(let failure):
                reply(RPCMessage.line(RPCMessage.error(id: failure.id, failure.error)))
            case .success(.array(let items)):
                // One request at a time, each its own turn on the queue: a due reminder's
                // timer runs between them, so no batch holds the engine up.
                runBatch(items[...], replies: [], budget: Self.maximumBatchDoses, from: connection, reply: reply)
            case .success(let value):
                var budget = Self.maximumUpcoming
                let render = handle(value, budget: &budget, from: connection)
                // The engine decided; the encoding happens off its queue.
                Self.rendering.async { reply(render?()) }
            }
        }
    }

    public func closed(_ connection: Connection) {
        afterBurst.touch()
        inbox.async { [self] in _ = subscribers.removeValue(forKey: connection) }
    }

    /// A batch holds at most this many requests (SPEC 6 sets no limit; this one bounds the work
    /// one line can ask for).
    static let maximumBatch = 100

    /// `upcoming` lists at most this many doses: one request's work stays far below a reminder's
    /// tolerance.
    static let maximumUpcoming = 1000

    /// The `upcoming` requests of one batch list at most this many doses in all, so one line's
    /// reply stays a few megabytes whatever it asks.
    static let maximumBatchDoses = 10_000

    /// A line as a JSON value, or the error reply for a line that is not JSON or an empty or
    /// too large batch.
    static func parse(_ line: String) -> Result<JSONValue, RPCFailure> {
        let value: JSONValue
        do {
            value = try JSONReader.parse(line)
        } catch {
            return .failure(RPCFailure(id: .null, error: RPCError(code: RPCErrorCode.parseError, message: "parse error: \(error)")))
        }
        if case .array(let items) = value {
            guard !items.isEmpty else {
                return .failure(RPCFailure(id: .null, error: RPCError(code: RPCErrorCode.invalidRequest, message: "empty batch")))
            }
            // -32602, as for every limit of the work one line may ask for (issue #10).
            guard items.count <= maximumBatch else {
                return .failure(RPCFailure(id: .null, error: RPCError(code: RPCErrorCode.invalidParams,
                    message: "a batch holds at most \(maximumBatch) requests, not \(items.count)")))
            }
        }
        return .success(value)
    }

    /// Where replies are encoded, off the engine queue. Serial: on Linux the first use of a
    /// concurrent queue starts libdispatch's thread-pool monitor, a timer that wakes the
    /// process every second from then on (an idle dosed must not wake at all).
    static let rendering = Inbox(DispatchQueue(label: "dosed.replies"))

    private func runBatch(_ items: ArraySlice<JSONValue>, replies: [Rendering], budget: Int, from connection: Connection,
                          reply: @escaping @Sendable (String?) -> Void) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let item = items.first else {
            Self.rendering.async {
                reply(replies.isEmpty ? nil : "[" + replies.map { $0() }.joined(separator: ",") + "]")
            }
            return
        }
        var replies = replies
        var budget = budget
        if let answer = handle(item, budget: &budget, from: connection) { replies.append(answer) }
        queue.async { [self, replies, budget] in
            runBatch(items.dropFirst(), replies: replies, budget: budget, from: connection, reply: reply)
        }
    }

    /// The reply to one request line, handled on the engine queue as a socket line is (without a
    /// connection, so `subscribe` subscribes nobody): for the fuzz target and tests.
    public func respond(to line: String) -> String? {
        queue.sync { handle(line, from: nil) }
    }

    /// The reply line to a request line, or nil (notifications only), all at once.
    func handle(_ line: String, from connection: Connection?) -> String? {
        dispatchPrecondition(condition: .onQueue(queue))
        switch Self.parse(line) {
        case .failure(let failure): return RPCMessage.line(RPCMessage.error(id: failure.id, failure.error))
        case .success(.array(let items)):
            var budget = Self.maximumBatchDoses
            let replies = items.compactMap { handle($0, budget: &budget, from: connection) }
            return replies.isEmpty ? nil : "[" + replies.map { $0() }.joined(separator: ",") + "]"
        case .success(let value):
            var budget = Self.maximumUpcoming
            return handle(value, budget: &budget, from: connection)?()
        }
    }

    /// Makes a reply's text; called off the engine queue.
    typealias Rendering = @Sendable () -> String

    /// The reply text to one request, or nil for a notification. The result is encoded once,
    /// straight from its Codable type.
    private func handle(_ value: JSONValue, budget: inout Int, from connection: Connection?) -> Rendering? {
        switch RPCRequest.parse(value) {
        case .failure(let failure):
            return { RPCMessage.line(RPCMessage.error(id: failure.id, failure.error)) }
        case .success(let request):
            let result = dispatch(request, budget: &budget, from: connection)
            guard let id = request.id else { return nil }
            switch result {
            case .success(let encoded): return { RPCMessage.resultLine(id: id, encoded) }
            case .failure(let error): return { RPCMessage.line(RPCMessage.error(id: id, error)) }
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

    private func dispatch(_ request: RPCRequest, budget: inout Int, from connection: Connection?) -> Result<EncodedJSON, RPCError> {
        dispatchPrecondition(condition: .onQueue(queue))
        let now = Self.now()
        let config = machine.config
        func message(_ record: DoseRecord) -> EncodedJSON {
            EncodedJSON(DoseMessage(record, config: config, now: now))
        }
        guard let method = RPCMethod(rawValue: request.method) else {
            return .failure(RPCError(code: RPCErrorCode.methodNotFound, message: "no method '\(request.method)'"))
        }
        switch method {
        case .status:
            let due = machine.due(at: now).map { DoseMessage($0, config: config, now: now) }
            let next = nextDose(after: now).map { upcomingMessage($0, now: now) }
            var result = StatusResult(version: dosedVersion, started: RFC3339.utc(started), schedules: config.scheduleCount,
                                      due: due, next: next, stock: stockStatus(now: now))
            result.as_needed = AsNeededStatus.all(config) { medication, _ in machine.availability(medication.id, now: now) }
            result.history_error = historyProblem
            return .success(EncodedJSON(result))
        case .upcoming:
            let left = budget
            return params(request, as: RPCParams.Upcoming.self).flatMap { p in
                let count = p.count ?? 10
                guard (0...Self.maximumUpcoming).contains(count) else {
                    return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "count must be 0 to \(Self.maximumUpcoming), not \(count)"))
                }
                guard count <= left else {
                    return .failure(RPCError(code: RPCErrorCode.invalidParams,
                        message: "the upcoming requests of one batch list at most \(Self.maximumBatchDoses) doses in all"))
                }
                if let medication = p.medication, config.medication(medication) == nil {
                    return .failure(RPCError(code: RPCErrorCode.noSuchDose, message: "no medication \(medication)"))
                }
                budget -= count
                let doses = machine.upcoming(after: now, count: count, filter: .init(medication: p.medication, schedule: nil))
                // The engine picks the records; the messages are built and encoded off its queue.
                let records = doses.map(upcomingRecord)
                return .success(EncodedJSON(doses: { records.map { DoseMessage($0, config: config, now: now) } }))
            }
        case .subscribe:
            return params(request, as: RPCParams.Subscribe.self).flatMap { p in
                let known = Set(Event.Kind.allCases.map(\.rawValue))
                if let unknown = p.events?.first(where: { !known.contains($0) }) {
                    return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "unknown event '\(unknown)'"))
                }
                if let connection { subscribers.updateValue(p.events.map(Set.init), forKey: connection) }
                return .success(EncodedJSON(raw: #"{"subscribed":true}"#))
            }
        case .take:
            return params(request, as: RPCParams.Take.self).flatMap { p in
                origin(connection, p.channel).flatMap { origin in target(p.dose, p.medication).flatMap { target in
                    instant(p.at, zone: config.zone, now: now).flatMap { at in
                        answer(.take(at: at, site: p.site, note: p.note), for: target, now: now, force: p.force ?? false, by: origin)
                            .map(message)
                    }
                } }
            }
        case .skip, .hold:
            return params(request, as: RPCParams.Skip.self).flatMap { p in
                origin(connection, p.channel).flatMap { origin in target(p.dose, p.medication).flatMap {
                    let answer: ReminderMachine.Answer = method == .hold ? .hold(reason: p.reason) : .skip(reason: p.reason)
                    return self.answer(answer, for: $0, now: now, by: origin).map(message)
                } }
            }
        case .amend:
            return params(request, as: RPCParams.Amend.self).flatMap { p in
                origin(connection, p.channel).flatMap { origin in instant(p.at, zone: config.zone, now: now).flatMap { at in
                    guard let correction = ReminderMachine.Correction.parse(p.state, at: at, site: p.site) else {
                        return .failure(RPCError(code: RPCErrorCode.invalidParams,
                                                 message: "'state' must be \(ReminderMachine.Correction.names), not '\(p.state)'"))
                    }
                    guard at == nil && p.site == nil || correction == .taken(at: at, site: p.site) else {
                        return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "'at' and 'site' go with the state 'taken' only"))
                    }
                    return readableStore().flatMap { store in commit(correcting: true) { machine in
                        let stored = try? store.record(p.dose, ifForgottenBy: machine)
                        return machine.amend(p.dose, to: correction, reason: p.reason, stored: stored, now: now, by: origin)
                    } }.map(message)
                } }
            }
        case .undo:
            return params(request, as: RPCParams.Undo.self).flatMap { p in
                origin(connection, p.channel).flatMap { origin in readableStore().flatMap { store in
                    let last: (answer: Change, isLatest: Bool)?
                    do {
                        last = try store.lastAnswer(uid: origin.uid ?? getuid(), since: now - ReminderMachine.undoWindow)
                    } catch {
                        return .failure(RPCError(code: RPCErrorCode.internalError, message: "could not read the history: \(error)"))
                    }
                    return commit(correcting: true) { machine in
                        let stored = last.flatMap { try? store.record($0.answer.dose.id, ifForgottenBy: machine) }
                        return machine.undo(last, stored: stored, now: now, by: origin)
                    }.map { EncodedJSON(UndoResult($0, config: config, now: now)) }
                } }
            }
        case .snooze:
            return params(request, as: RPCParams.Snooze.self).flatMap { p in
                let span: Micros
                switch DurationText.parse(p.for) {
                case .success(let value): span = value
                case .failure(let error): return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "'for': \(error)"))
                }
                return origin(connection, p.channel).flatMap { origin in
                    target(p.dose, p.medication).flatMap { answer(.snooze(span), for: $0, now: now, by: origin).map(message) }
                }
            }
        case .stock:
            return params(request, as: RPCParams.Stock.self).flatMap { p in
                guard let medication = config.medication(p.medication) else {
                    return .failure(RPCError(code: RPCErrorCode.noSuchDose, message: "no medication \(p.medication)"))
                }
                guard (p.set == nil) != (p.add == nil) else {
                    return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "give exactly one of 'set' and 'add'"))
                }
                machine.beginChange()
                switch machine.refill(p.medication, amount: p.set ?? p.add!, add: p.add != nil, now: now) {
                case .failure(let error):
                    machine.endChange(keeping: false)
                    return .failure(RPCError(code: RPCErrorCode.invalidParams, message: error.message))
                case .success(let actions):
                    if case .failure(let error) = performChange(actions) { return .failure(error) }
                }
                let status = stockStatus(medication, now: now) ?? StockStatus(medication: p.medication, stock: 0, runs_out: nil)
                return .success(EncodedJSON(status))
            }
        case .reload:
            return reload().map { EncodedJSON(raw: #"{"schedules":\#($0)}"#) }
        }
    }

    /// An `at` param as an instant (nil when absent).
    private func instant(_ text: String?, zone: ZoneRules, now: Micros) -> Result<Micros?, RPCError> {
        guard let text else { return .success(nil) }
        guard let instant = TimeInput.parse(text, zone: zone, now: now) else {
            return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "'at' is not a time: \(text) (use \(TimeInput.expected()))"))
        }
        return .success(instant)
    }

    private func target(_ dose: String?, _ medication: String?) -> Result<ReminderMachine.Target, RPCError> {
        switch (dose, medication) {
        case (let dose?, nil): .success(.dose(dose))
        case (nil, let medication?): .success(.medication(medication))
        default: .failure(RPCError(code: RPCErrorCode.invalidParams, message: "give exactly one of 'dose' and 'medication'"))
        }
    }

    /// Who asks on a connection: its peer's uid, through the socket (or dosectl, `channel: "cli"`).
    private func origin(_ connection: Connection?, _ channel: String?) -> Result<Origin, RPCError> {
        let uid = connection?.uid ?? getuid()
        switch channel {
        case nil, "socket": return .success(Origin(uid: uid, channel: .socket))
        case "cli": return .success(Origin(uid: uid, channel: .cli))
        case let other?:
            return .failure(RPCError(code: RPCErrorCode.invalidParams, message: "'channel' must be cli or socket, not '\(other)'"))
        }
    }

    /// Answers through the machine; the reply goes out only once the answer is on disk.
    func answer(_ answer: ReminderMachine.Answer, for target: ReminderMachine.Target, now: Micros,
                        force: Bool = false, by origin: Origin) -> Result<DoseRecord, RPCError> {
        commit(correcting: false) { $0.answer(answer, for: target, now: now, force: force, by: origin) }
    }

    /// Runs one change of the machine (an answer or a correction) and performs its actions: the
    /// reply goes out only once they are on disk; if they cannot be written, the machine is as
    /// before. A correction may take back a schedule's last take: those are read back after it.
    private func commit(correcting: Bool,
                        _ change: (inout ReminderMachine) -> Result<(DoseRecord, [ReminderMachine.Action]), ReminderMachine.AnswerError>)
        -> Result<DoseRecord, RPCError> {
        machine.beginChange()
        switch change(&machine) {
        case .failure(let error):
            machine.endChange(keeping: false)
            switch error.code {
            case .notFound: return .failure(RPCError(code: RPCErrorCode.noSuchDose, message: error.message))
            case .invalid: return .failure(RPCError(code: RPCErrorCode.invalidParams, message: error.message))
            case .notAllowed: return .failure(RPCError(code: RPCErrorCode.notAllowed, message: error.message))
            case .limitReached:
                let data = error.availability.flatMap { availability in
                    error.medication.flatMap(machine.config.medication).flatMap { medication in
                        medication.asNeeded.map { AsNeededStatus(medication, $0, availability).errorData }
                    }
                }
                return .failure(RPCError(code: RPCErrorCode.limitReached, message: error.message, data: data))
            }
        case .success(let (record, actions)):
            if case .failure(let error) = performChange(actions) { return .failure(error) }
            if correcting, let store, let lastTaken = try? store.lastTakes(),
               let takes = try? store.takes(since: machine.config.asNeededLookback.map { Self.now() - $0 } ?? .max) {
                machine.restoreTakes(lastTaken: lastTaken, takes: takes)
            }
            rearm()
            return .success(record)
        }
    }

    /// Performs the actions of the change under way and ends it: kept once they are saved,
    /// taken back when they cannot be (the machine is then as before).
    private func performChange(_ actions: [ReminderMachine.Action]) -> Result<Void, RPCError> {
        let saved = perform(actions)
        machine.endChange(keeping: (try? saved.get()) != nil)
        return saved
    }

    /// The history, for the methods that read it before they change it (amend, undo).
    private func readableStore() -> Result<HistoryStore, RPCError> {
        history.withLockedValue { $0 }.mapError(\.rpcError)
    }

    /// The stock on hand of every medication with stock, and when it runs out.
    private func stockStatus(now: Micros) -> [StockStatus] {
        machine.config.medications.compactMap { stockStatus($0, now: now) }
    }

    /// The stock on hand of `medication` and when it runs out; nil when it has no stock.
    private func stockStatus(_ medication: Medication, now: Micros) -> StockStatus? {
        guard let onHand = ReminderMachine.Stock.onHand(stored: machine.stock[medication.id], configured: medication.stock)
        else { return nil }
        let runsOut = machine.runsOut(medication.id, stock: onHand, after: now)
        return StockStatus(medication: medication.id, stock: onHand, runs_out: runsOut.map(RFC3339.utc))
    }

    /// The record of an upcoming dose: the machine's, else a new one with the suggested site.
    private func upcomingRecord(_ dose: DueDose) -> DoseRecord {
        machine.records[dose] ?? {
            var record = DoseRecord(dose: dose)
            record.site = machine.suggestedSite(dose.medication)
            return record
        }()
    }

    private func upcomingMessage(_ dose: DueDose, now: Micros) -> DoseMessage {
        DoseMessage(upcomingRecord(dose), config: machine.config, now: now)
    }
}
