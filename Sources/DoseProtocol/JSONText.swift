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

    /// Appends `value` as a JSON string, in UTF-8: the one escaper of the hand-written JSON.
    public static func appendQuoted(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escape: copied whole, not byte by byte.
        let copied = value.utf8.withContiguousStorageIfAvailable { utf8 in
            guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            bytes.append(contentsOf: utf8)
            bytes.append(UInt8(ascii: "\""))
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
        bytes.append(UInt8(ascii: "\""))
    }
}

/// `[a,b,…]` at the end of `bytes`, each element written there by `element`: the arrays of the
/// long listings (history, `upcoming`, a dose's audit trail).
public func appendJSONArray<Elements: Sequence>(_ elements: Elements, to bytes: inout [UInt8],
                                                _ element: (Elements.Element, inout [UInt8]) -> Void) {
    bytes.append(UInt8(ascii: "["))
    for (index, item) in elements.enumerated() {
        if index > 0 { bytes.append(UInt8(ascii: ",")) }
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
        var o = JSONMembers.open(&bytes)
        o.stringIfPresent("answered_at", answered_at, &bytes)
        if let changes {
            o.key("changes", &bytes)
            appendJSONArray(changes, to: &bytes) { change, bytes in change.appendJSON(to: &bytes) }
        }
        o.boolIfPresent("corrected", corrected, &bytes)
        o.string("dose", dose, &bytes)
        o.string("due", due, &bytes)
        o.string("due_local", due_local, &bytes)
        o.string("id", id, &bytes)
        o.stringIfPresent("kind", kind, &bytes)
        o.boolIfPresent("late", late, &bytes)
        o.string("medication", medication, &bytes)
        o.string("medication_name", medication_name, &bytes)
        o.stringIfPresent("note", note, &bytes)
        o.stringIfPresent("reason", reason, &bytes)
        o.string("route", route, &bytes)
        o.string("schedule", schedule, &bytes)
        o.string("site", site, &bytes)
        o.stringIfPresent("snoozed_until", snoozed_until, &bytes)
        o.string("state", state.rawValue, &bytes)
        bytes.append(UInt8(ascii: "}"))
    }
}

extension ChangeMessage {
    public var jsonText: String {
        var bytes: [UInt8] = []
        appendJSON(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    func appendJSON(to bytes: inout [UInt8]) {
        var o = JSONMembers.open(&bytes)
        o.stringIfPresent("at", at, &bytes)
        o.string("channel", channel, &bytes)
        o.stringIfPresent("reason", reason, &bytes)
        o.string("recorded", recorded, &bytes)
        o.string("state", state, &bytes)
        o.key("uid", &bytes)
        bytes.append(contentsOf: (uid.map { String($0) } ?? "null").utf8)
        bytes.append(UInt8(ascii: "}"))
    }
}
