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
        var result = ""
        appendQuoted(value, to: &result)
        return result
    }

    /// Appends `value` as a JSON string.
    public static func appendQuoted(_ value: String, to result: inout String) {
        result += "\""
        // Most strings need no escape at all.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            result += value
            result += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        result += "\""
    }
}

/// Members written in key order straight into one string (the caller keeps the order sorted).
struct JSONMembers {
    var text: String
    private var first = true

    init(into text: String) {
        self.text = text
        self.text += "{"
    }

    mutating func key(_ key: String) {
        text += first ? "\"" : ",\""
        first = false
        text += key
        text += "\":"
    }

    mutating func string(_ key: String, _ value: String?) {
        self.key(key)
        if let value { JSONObjectText.appendQuoted(value, to: &text) } else { text += "null" }
    }

    mutating func stringIfPresent(_ key: String, _ value: String?) {
        if let value { string(key, value) }
    }

    mutating func boolIfPresent(_ key: String, _ value: Bool?) {
        if let value { self.key(key); text += value ? "true" : "false" }
    }

    mutating func close() -> String {
        text += "}"
        return text
    }
}

extension DoseMessage {
    /// This dose as JSON text (with `"kind"` when given): the text `RPCMessage.text` gives for
    /// it, written by hand in key order.
    public func jsonText(kind: String? = nil) -> String {
        var text = ""
        appendJSON(kind: kind, to: &text)
        return text
    }

    /// Appends this dose's JSON text to `text`.
    public func appendJSON(kind: String? = nil, to text: inout String) {
        var o = JSONMembers(into: text)
        text = ""
        o.stringIfPresent("answered_at", answered_at)
        if let changes {
            o.key("changes")
            o.text += "["
            for (index, change) in changes.enumerated() {
                if index > 0 { o.text += "," }
                change.appendJSON(to: &o.text)
            }
            o.text += "]"
        }
        o.boolIfPresent("corrected", corrected)
        o.string("dose", dose)
        o.string("due", due)
        o.string("due_local", due_local)
        o.string("id", id)
        o.stringIfPresent("kind", kind)
        o.boolIfPresent("late", late)
        o.string("medication", medication)
        o.string("medication_name", medication_name)
        o.stringIfPresent("note", note)
        o.stringIfPresent("reason", reason)
        o.string("route", route)
        o.string("schedule", schedule)
        o.string("site", site)
        o.stringIfPresent("snoozed_until", snoozed_until)
        o.string("state", state.rawValue)
        text = o.close()
    }
}

extension ChangeMessage {
    public var jsonText: String {
        var text = ""
        appendJSON(to: &text)
        return text
    }

    func appendJSON(to text: inout String) {
        var o = JSONMembers(into: text)
        text = ""
        o.stringIfPresent("at", at)
        o.string("channel", channel)
        o.stringIfPresent("reason", reason)
        o.string("recorded", recorded)
        o.string("state", state)
        o.key("uid")
        o.text += uid.map { String($0) } ?? "null"
        text = o.close()
    }
}
