import DoseCore

/// JSON text written straight into a string, for the long listings (`history --json`, exports):
/// the same text as ``RPCMessage/text(_:)`` gives (sorted keys, slashes unescaped, one line),
/// without Foundation's encoder, which costs more than everything else in a 30-day history.
public struct JSONObjectText {
    private var members: [(key: String, value: String)] = []

    public init() {}

    /// A string member, or `null`.
    public mutating func add(_ key: String, _ value: String?) {
        members.append((key, value.map(JSONObjectText.quoted) ?? "null"))
    }

    /// A string member, left out when nil.
    public mutating func addIfPresent(_ key: String, _ value: String?) {
        if let value { members.append((key, JSONObjectText.quoted(value))) }
    }

    /// An integer member, or `null`.
    public mutating func add(_ key: String, integer value: Int64?) {
        members.append((key, value.map { String($0) } ?? "null"))
    }

    public mutating func addIfPresent(_ key: String, integer value: Int64?) {
        if let value { members.append((key, String(value))) }
    }

    public mutating func addIfPresent(_ key: String, bool value: Bool?) {
        if let value { members.append((key, value ? "true" : "false")) }
    }

    /// A member whose value is JSON text already.
    public mutating func add(_ key: String, raw value: String) {
        members.append((key, value))
    }

    /// The object, its keys in order (as JSONEncoder's `.sortedKeys`).
    public var text: String {
        var result = "{"
        for (index, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { result += "," }
            result += JSONObjectText.quoted(member.key)
            result += ":"
            result += member.value
        }
        return result + "}"
    }

    /// A JSON string (RFC 8259): quotes, backslashes and control characters escaped, the rest
    /// (slashes and non-ASCII included) as is.
    public static func quoted(_ value: String) -> String {
        var bytes: [UInt8] = []
        appendQuoted(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `value` as a JSON string, in UTF-8.
    public static func appendQuoted(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        appendEscaped(value, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends `value`'s characters as they stand inside a JSON string, in UTF-8: the one
    /// escaper of the hand-written JSON. Escaping goes character by character, so parts escaped
    /// one after the other are the whole escaped.
    static func appendEscaped(_ value: String, to bytes: inout [UInt8]) {
        // Most strings need no escape: copied whole, not byte by byte.
        let copied = value.utf8.withContiguousStorageIfAvailable { utf8 in
            guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if copied == true { return }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
            case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
            case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
            case 0x08: bytes.append(contentsOf: #"\b"#.utf8)
            case 0x0C: bytes.append(contentsOf: #"\f"#.utf8)
            case 0x00..<0x20:
                let hex = String(byte, radix: 16)
                bytes.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            default: bytes.append(byte)
            }
        }
    }
}

/// The text of a string member: a string as it is, or an instant or a dose's id written as SPEC 4
/// writes them straight into the output (a listing writes thousands, each without a string made).
enum MemberText {
    case string(String)
    /// `2026-11-30T20:00:00Z`.
    case utc(Micros)
    /// `2026-11-30T21:00:00+01:00`.
    case local(Micros, offset: Int)
    /// `interferon/evening@2026-11-30T20:00:00Z`.
    case id(DueDose)

    /// The text as a string.
    var string: String {
        switch self {
        case .string(let text): text
        case .utc(let instant): RFC3339.utc(instant)
        case .local(let instant, let offset): RFC3339.local(instant, offset: offset)
        case .id(let dose): dose.id
        }
    }

    /// Appends the text as a JSON string.
    func appendQuoted(to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        switch self {
        case .string(let text): JSONObjectText.appendEscaped(text, to: &bytes)
        case .utc(let instant): RFC3339.append(utc: instant, to: &bytes)
        case .local(let instant, let offset): RFC3339.append(local: instant, offset: offset, to: &bytes)
        case .id(let dose): DoseID.append(dose, to: &bytes, name: JSONObjectText.appendEscaped)
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// `[a,b,…]` at the end of `bytes`, each element written there by `element`: the arrays of the
/// long listings (history, `upcoming`, a dose's audit trail).
public func appendJSONArray<Elements: Sequence>(_ elements: Elements, to bytes: inout [UInt8],
                                                _ element: (Elements.Element, inout [UInt8]) -> Void) {
    bytes.append(UInt8(ascii: "["))
    var first = true
    for item in elements {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        element(item, &bytes)
    }
    bytes.append(UInt8(ascii: "]"))
}

/// Members written in key order straight onto the end of a byte buffer (the caller keeps the
/// order sorted): appending UTF-8 bytes costs a fraction of appending to a String, and a listing
/// is megabytes long.
struct JSONMembers {
    private var first = true

    /// Opens an object at the end of `bytes`.
    static func open(_ bytes: inout [UInt8]) -> JSONMembers {
        bytes.append(UInt8(ascii: "{"))
        return JSONMembers()
    }

    mutating func key(_ key: StaticString, _ bytes: inout [UInt8]) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func string(_ key: StaticString, _ value: String?, _ bytes: inout [UInt8]) {
        self.key(key, &bytes)
        if let value { JSONObjectText.appendQuoted(value, to: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
    }

    mutating func stringIfPresent(_ key: StaticString, _ value: String?, _ bytes: inout [UInt8]) {
        if let value { string(key, value, &bytes) }
    }

    mutating func text(_ key: StaticString, _ value: MemberText, _ bytes: inout [UInt8]) {
        self.key(key, &bytes)
        value.appendQuoted(to: &bytes)
    }

    mutating func textIfPresent(_ key: StaticString, _ value: MemberText?, _ bytes: inout [UInt8]) {
        if let value { text(key, value, &bytes) }
    }

    mutating func boolIfPresent(_ key: StaticString, _ value: Bool?, _ bytes: inout [UInt8]) {
        if let value {
            self.key(key, &bytes)
            bytes.append(contentsOf: (value ? "true" : "false").utf8)
        }
    }
}

extension DoseMessage {
    /// This dose as JSON text (with `"kind"` when given): the text `RPCMessage.text` gives for
    /// it, written by hand in key order.
    public func jsonText(kind: String? = nil) -> String {
        var bytes: [UInt8] = []
        appendJSON(kind: kind, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends this dose's JSON text to `bytes` (UTF-8).
    public func appendJSON(kind: String? = nil, to bytes: inout [UInt8]) {
        DoseMembers(self).append(kind: kind, changes: changes, to: &bytes) { ChangeMembers($0).append(to: &$1) }
    }

    /// Appends the JSON text of `DoseMessage(record, config:, now:)` with `changes` as its trail,
    /// written straight from the record: `history --json` writes thousands of doses.
    public static func appendJSON(_ record: DoseRecord, shown: Configuration.Shown, now: Micros, kind: String? = nil,
                                  changes: [Change]?, to bytes: inout [UInt8]) {
        DoseMembers(record, shown: shown, now: now).append(kind: kind, changes: changes, to: &bytes) {
            ChangeMembers($0).append(to: &$1)
        }
    }
}

extension ChangeMessage {
    public var jsonText: String {
        var bytes: [UInt8] = []
        ChangeMembers(self).append(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The members of a Dose (SPEC 6): the one place its JSON text is written, in key order, for a
/// message and for a record written straight from the history.
struct DoseMembers {
    var answered_at: MemberText?
    var corrected: Bool?
    var dose: String?
    var due: MemberText
    var due_local: MemberText
    var id: MemberText
    var late: Bool?
    var medication: String
    var medication_name: String
    var note: String?
    var reason: String?
    var route: String?
    var schedule: String
    var site: String?
    var snoozed_until: MemberText?
    var state: DoseMessage.State

    init(_ m: DoseMessage) {
        answered_at = m.answered_at.map(MemberText.string); corrected = m.corrected; dose = m.dose
        due = .string(m.due); due_local = .string(m.due_local); id = .string(m.id); late = m.late
        medication = m.medication; medication_name = m.medication_name; note = m.note; reason = m.reason
        route = m.route; schedule = m.schedule; site = m.site; snoozed_until = m.snoozed_until.map(MemberText.string)
        state = m.state
    }

    /// A recorded dose at `now`: its state, answer, snooze and lateness. `late` is set for a
    /// reminder that fired late (catch-up) and for a dose taken after its window.
    init(_ record: DoseRecord, shown: Configuration.Shown, now: Micros) {
        switch record.state {
        case .pending:
            if let until = record.snoozedUntil, until > now { state = .snoozed }
            else if record.dose.due <= now { state = .due }
            else { state = .upcoming }
        case .taken: state = .taken
        case .skipped: state = .skipped
        case .missed: state = .missed
        case .held: state = .held
        }
        id = .id(record.dose)
        medication = record.dose.medication
        medication_name = shown.name
        schedule = record.dose.schedule
        due = .utc(record.dose.due)
        due_local = .local(record.dose.due, offset: shown.zone.offset(at: record.dose.due))
        dose = shown.dose
        route = shown.route
        site = record.site
        if record.isAnswered || record.state == .missed, let at = record.answeredAt { answered_at = .utc(at) }
        if state == .snoozed, let until = record.snoozedUntil { snoozed_until = .utc(until) }
        let takenLate = record.state == .taken && shown.window.map { (record.answeredAt ?? 0) > record.dose.due + $0 } == true
        if record.late || takenLate { late = true }
        note = record.note
        reason = record.reason
        if record.corrected { corrected = true }
    }

    func append<Changes: Sequence>(kind: String?, changes: Changes?, to bytes: inout [UInt8],
                                   _ change: (Changes.Element, inout [UInt8]) -> Void) {
        var o = JSONMembers.open(&bytes)
        o.textIfPresent("answered_at", answered_at, &bytes)
        if let changes {
            o.key("changes", &bytes)
            appendJSONArray(changes, to: &bytes, change)
        }
        o.boolIfPresent("corrected", corrected, &bytes)
        o.string("dose", dose, &bytes)
        o.text("due", due, &bytes)
        o.text("due_local", due_local, &bytes)
        o.text("id", id, &bytes)
        o.stringIfPresent("kind", kind, &bytes)
        o.boolIfPresent("late", late, &bytes)
        o.string("medication", medication, &bytes)
        o.string("medication_name", medication_name, &bytes)
        o.stringIfPresent("note", note, &bytes)
        o.stringIfPresent("reason", reason, &bytes)
        o.string("route", route, &bytes)
        o.string("schedule", schedule, &bytes)
        o.string("site", site, &bytes)
        o.textIfPresent("snoozed_until", snoozed_until, &bytes)
        o.string("state", state.rawValue, &bytes)
        bytes.append(UInt8(ascii: "}"))
    }
}

/// The members of an audit-trail record (SPEC 10): the one place its JSON text is written.
struct ChangeMembers {
    var state: String
    var at: MemberText?
    var recorded: MemberText
    var uid: UInt32?
    var channel: String?
    var reason: String?

    init(_ m: ChangeMessage) {
        state = m.state; at = m.at.map(MemberText.string); recorded = .string(m.recorded); uid = m.uid
        channel = m.channel; reason = m.reason
    }

    /// `uid` and `channel` are null for answers recorded before the trail existed.
    init(_ change: Change) {
        state = change.state.rawValue
        at = change.at.map(MemberText.utc)
        recorded = .utc(change.recorded)
        uid = change.origin?.uid
        channel = change.origin?.channel.rawValue
        reason = change.reason
    }

    func append(to bytes: inout [UInt8]) {
        var o = JSONMembers.open(&bytes)
        o.textIfPresent("at", at, &bytes)
        o.string("channel", channel, &bytes)
        o.stringIfPresent("reason", reason, &bytes)
        o.text("recorded", recorded, &bytes)
        o.string("state", state, &bytes)
        o.key("uid", &bytes)
        bytes.append(contentsOf: (uid.map { String($0) } ?? "null").utf8)
        bytes.append(UInt8(ascii: "}"))
    }
}
