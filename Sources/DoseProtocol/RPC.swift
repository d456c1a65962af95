import DoseCore
import Foundation

/// JSON-RPC 2.0 error codes of SPEC 6.
public enum RPCErrorCode {
    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603
    public static let permissionDenied = -32001
    public static let noSuchDose = -32002
    public static let invalidConfiguration = -32003
    /// An as-needed take refused by its limits (SPEC 10).
    public static let limitReached = -32004
    /// Not allowed now, e.g. reopening a dose whose window has closed (SPEC 6 and 10).
    public static let notAllowed = -32005
}

/// A JSON-RPC error object.
public struct RPCError: Error, Codable, Sendable, Equatable {
    public var code: Int
    public var message: String
    /// More about the error (-32004: `{allowed_from, taken_in_period, max, period}`).
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }
}

/// An error reply: the error and the id it answers (`null` when the id could not be read).
public struct RPCFailure: Error, Sendable, Equatable {
    public var id: JSONValue
    public var error: RPCError
    public init(id: JSONValue, error: RPCError) {
        self.id = id
        self.error = error
    }
}

/// A request or notification, read from one JSON value.
public struct RPCRequest: Sendable, Equatable {
    /// nil for a notification (no reply).
    public var id: JSONValue?
    public var method: String
    public var params: JSONValue?

    public init(id: JSONValue?, method: String, params: JSONValue? = nil) {
        self.id = id
        self.method = method
        self.params = params
    }

    /// Validates a decoded value as a request; the error carries the id when it could be read.
    public static func parse(_ value: JSONValue) -> Result<RPCRequest, RPCFailure> {
        guard case .object(let object) = value else {
            return .failure(RPCFailure(id: .null, error: RPCError(code: RPCErrorCode.invalidRequest, message: "a request must be a JSON object")))
        }
        var id: JSONValue?
        if let raw = object["id"] {
            switch raw {
            case .string, .number, .integer, .null: id = raw
            default:
                return .failure(RPCFailure(id: .null, error: RPCError(code: RPCErrorCode.invalidRequest, message: "'id' must be a string, a number or null")))
            }
        }
        let replyID = id ?? .null
        guard object["jsonrpc"] == .string("2.0") else {
            return .failure(RPCFailure(id: replyID, error: RPCError(code: RPCErrorCode.invalidRequest, message: "'jsonrpc' must be \"2.0\"")))
        }
        guard case .string(let method)? = object["method"] else {
            return .failure(RPCFailure(id: replyID, error: RPCError(code: RPCErrorCode.invalidRequest, message: "'method' must be a string")))
        }
        if let params = object["params"] {
            switch params {
            case .object, .array: break
            default:
                return .failure(RPCFailure(id: replyID, error: RPCError(code: RPCErrorCode.invalidRequest, message: "'params' must be an object or an array")))
            }
        }
        return .success(RPCRequest(id: id, method: method, params: object["params"]))
    }

    /// `{"jsonrpc":"2.0","id":…,"method":…,"params":…}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["jsonrpc": .string("2.0"), "method": .string(method)]
        if let id { object["id"] = id }
        if let params { object["params"] = params }
        return .object(object)
    }
}

/// A result to be encoded as JSON text (sorted keys, as every dosed output), once, straight
/// from its Codable type, and put into the reply as it is. Encoding waits until `text` is asked
/// for, so the daemon encodes big results off its engine queue.
public struct EncodedJSON: Sendable {
    private let encode: @Sendable () -> String

    /// The JSON of `value`; `null` if it cannot be encoded (no type of ours fails to).
    public init<T: Encodable & Sendable>(_ value: T) {
        encode = { (try? RPCMessage.text(value)) ?? "null" }
    }

    /// A list of doses' JSON, made and written by hand when `text` is asked for (the encoder's
    /// text, as for one dose). `upcoming` lists up to 10,000 doses a line: Foundation's encoder
    /// built a tree of every member first, which took several times the reply's size and left
    /// the daemon's heap fragmented after.
    public init(doses produce: @escaping @Sendable () -> [DoseMessage]) {
        encode = {
            var bytes: [UInt8] = []
            appendJSONArray(produce(), to: &bytes) { message, bytes in message.appendJSON(to: &bytes) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// A dose's JSON, written by hand when asked for (the same text as the encoder's, without
    /// its cost): what a reminder's subscribers and an answer's reply carry.
    public init(_ message: DoseMessage) {
        encode = { message.jsonText() }
    }

    /// JSON text written by hand; it must be valid JSON.
    public init(raw: String) {
        encode = { raw }
    }

    /// The JSON text (encoded now).
    public var text: String { encode() }
}

/// Replies and notifications.
public enum RPCMessage {
    public static func error(id: JSONValue, _ error: RPCError) -> JSONValue {
        var object: [String: JSONValue] = ["code": .number(Double(error.code)), "message": .string(error.message)]
        if let data = error.data { object["data"] = data }
        return .object(["jsonrpc": .string("2.0"), "id": id, "error": .object(object)])
    }

    /// A result reply as one line: `{"id":…,"jsonrpc":"2.0","result":…}` (keys sorted, as
    /// ``text(_:)`` writes them), with the result put in as it was encoded.
    public static func resultLine(id: JSONValue, _ result: EncodedJSON) -> String {
        #"{"id":"# + line(id) + #","jsonrpc":"2.0","result":"# + result.text + "}"
    }

    /// A notification as one line: `{"jsonrpc":"2.0","method":…,"params":…}`.
    public static func notificationLine(method: String, _ params: EncodedJSON) -> String {
        #"{"jsonrpc":"2.0","method":"# + line(.string(method)) + #","params":"# + params.text + "}"
    }

    /// One line of JSON text, without the newline.
    public static func line(_ value: JSONValue) -> String {
        (try? text(value)) ?? "null"
    }

    /// JSON text of any encodable, as every dosed and dosectl output writes it: sorted keys,
    /// slashes unescaped, one line.
    public static func text<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// The socket's methods (SPEC 6); `undo` is an addition (the caller's last answer of the last
/// 15 minutes, SPEC 10).
public enum RPCMethod: String, CaseIterable, Sendable {
    case status, upcoming, subscribe, take, skip, hold, snooze, amend, undo, stock, reload
}

/// Params that name their dose by id or by its medication, and the channel the audit trail
/// records (take, skip, hold, snooze).
public protocol DoseTargetParams: Codable, Sendable {
    var dose: String? { get set }
    var medication: String? { get set }
    var channel: String? { get set }
}

/// Params of the methods of SPEC 6.
public enum RPCParams {
    /// No params (`status`, `reload`).
    public struct None: Codable, Sendable {
        public init() {}
    }

    public struct Upcoming: Codable, Sendable {
        public var count: Int?
        public var medication: String?
        public init(count: Int? = nil, medication: String? = nil) { self.count = count; self.medication = medication }
    }

    public struct Subscribe: Codable, Sendable {
        public var events: [String]?
        public init(events: [String]? = nil) { self.events = events }
    }

    public struct Take: DoseTargetParams {
        public var dose: String?
        public var medication: String?
        public var at: String?
        public var site: String?
        public var note: String?
        /// Records an as-needed take its limits refuse, with a `limit-exceeded` event (SPEC 10).
        public var force: Bool?
        /// `"cli"` when dosectl asks: the channel the audit trail records (default `"socket"`).
        public var channel: String?
        public init(dose: String? = nil, medication: String? = nil, at: String? = nil, site: String? = nil, note: String? = nil,
                    force: Bool? = nil) {
            self.dose = dose; self.medication = medication; self.at = at; self.site = site; self.note = note; self.force = force
        }
    }

    /// `skip` and `hold`.
    public struct Skip: DoseTargetParams {
        public var dose: String?
        public var medication: String?
        public var reason: String?
        public var channel: String?
        public init(dose: String? = nil, medication: String? = nil, reason: String? = nil) {
            self.dose = dose; self.medication = medication; self.reason = reason
        }
    }

    /// `amend` (SPEC 10): `state` is taken, skipped, missed, held or open.
    public struct Amend: Codable, Sendable {
        public var dose: String
        public var state: String
        public var at: String?
        public var site: String?
        public var reason: String
        public var channel: String?
        public init(dose: String, state: String, at: String? = nil, site: String? = nil, reason: String, channel: String? = nil) {
            self.dose = dose; self.state = state; self.at = at; self.site = site; self.reason = reason; self.channel = channel
        }
    }

    /// `undo`: takes back the caller's last answer of the last 15 minutes.
    public struct Undo: Codable, Sendable {
        public var channel: String?
        public init(channel: String? = nil) { self.channel = channel }
    }

    public struct Snooze: DoseTargetParams {
        public var dose: String?
        public var medication: String?
        public var `for`: String
        public var channel: String?
        public init(dose: String? = nil, medication: String? = nil, for span: String) {
            self.dose = dose; self.medication = medication; self.for = span
        }
    }

    public struct Stock: Codable, Sendable {
        public var medication: String
        public var set: Int?
        public var add: Int?
        public init(medication: String, set: Int? = nil, add: Int? = nil) { self.medication = medication; self.set = set; self.add = add }
    }
}

/// The `undo` result: the dose as it now stands, and whether it was reopened or withdrawn.
public struct UndoResult: Codable, Sendable {
    /// `"reopened"` or `"withdrawn"`.
    public var undone: String
    public var dose: DoseMessage
    public init(undone: String, dose: DoseMessage) { self.undone = undone; self.dose = dose }

    /// What undo made of `record`: an unscheduled take is withdrawn, any other dose reopened.
    public init(_ record: DoseRecord, config: Configuration, now: Micros) {
        self.init(undone: record.isExtra ? "withdrawn" : "reopened", dose: DoseMessage(record, config: config, now: now))
    }
}

/// A medication's stock on hand and when it runs out (`status`, `stock`; SPEC 6 and 10).
public struct StockStatus: Codable, Sendable, Equatable {
    public var medication: String
    public var stock: Int
    /// RFC 3339 UTC, or null.
    public var runs_out: String?

    public init(medication: String, stock: Int, runs_out: String?) {
        self.medication = medication; self.stock = stock; self.runs_out = runs_out
    }

    enum CodingKeys: String, CodingKey { case medication, stock, runs_out }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(medication, forKey: .medication)
        try c.encode(stock, forKey: .stock)
        try c.encode(runs_out, forKey: .runs_out)
    }
}

/// The `status` result.
public struct StatusResult: Codable, Sendable {
    public var version: String
    public var started: String
    public var schedules: Int
    public var due: [DoseMessage]
    public var next: DoseMessage?
    /// Stock on hand of each medication with stock.
    public var stock: [StockStatus]?
    /// Each medication taken as needed, and whether it may be taken now (SPEC 10).
    public var as_needed: [AsNeededStatus]?
    /// Why the history is out of reach, while it is (answers are refused meanwhile); absent
    /// otherwise. Not in SPEC 6: an addition a status bar can show.
    public var history_error: String?

    public init(version: String, started: String, schedules: Int, due: [DoseMessage], next: DoseMessage?, stock: [StockStatus] = []) {
        self.version = version; self.started = started; self.schedules = schedules; self.due = due; self.next = next
        self.stock = stock
    }

    enum CodingKeys: String, CodingKey { case version, started, schedules, due, next, stock, as_needed, history_error }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encode(started, forKey: .started)
        try c.encode(schedules, forKey: .schedules)
        try c.encode(due, forKey: .due)
        try c.encode(next, forKey: .next)
        try c.encode(stock ?? [], forKey: .stock)
        try c.encode(as_needed ?? [], forKey: .as_needed)
        try c.encodeIfPresent(history_error, forKey: .history_error)
    }
}

/// dosed's version, in `status`.
public let dosedVersion = "0.1.0"

/// Whether a medication taken as needed may be taken now (SPEC 6 and 10): `status`'s `as_needed`
/// entries and `list --json`'s `as_needed`.
public struct AsNeededStatus: Codable, Sendable, Equatable {
    public var medication: String
    public var medication_name: String
    /// RFC 3339 UTC; nil: now.
    public var available_from: String?
    public var taken_in_period: Int
    /// `max.doses` and `max.per` as written; nil without `max`.
    public var max: Int?
    public var period: String?

    public init(_ medication: Medication, _ rule: AsNeeded, _ availability: AsNeeded.Availability) {
        self.medication = medication.id
        medication_name = medication.name
        available_from = availability.from.map(RFC3339.utc)
        taken_in_period = availability.takenInPeriod
        max = rule.maxDoses
        period = rule.perText
    }

    enum CodingKeys: String, CodingKey { case medication, medication_name, available_from, taken_in_period, max, period }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(medication, forKey: .medication)
        try c.encode(medication_name, forKey: .medication_name)
        try c.encode(available_from, forKey: .available_from)
        try c.encode(taken_in_period, forKey: .taken_in_period)
        try c.encode(max, forKey: .max)
        try c.encode(period, forKey: .period)
    }

    /// The status of each `[as_needed]` medication of `config`, in config order, from its
    /// availability now (nil leaves it out).
    public static func all(_ config: Configuration, availability: (Medication, AsNeeded) -> AsNeeded.Availability?) -> [AsNeededStatus] {
        config.medications.compactMap { medication in
            guard let rule = medication.asNeeded, let now = availability(medication, rule) else { return nil }
            return AsNeededStatus(medication, rule, now)
        }
    }

    /// The -32004 error's `data`: `{allowed_from, taken_in_period, max, period}`.
    public var errorData: JSONValue {
        .object([
            "allowed_from": available_from.map(JSONValue.string) ?? .null,
            "taken_in_period": .number(Double(taken_in_period)),
            "max": max.map { .number(Double($0)) } ?? .null,
            "period": period.map(JSONValue.string) ?? .null,
        ])
    }
}
