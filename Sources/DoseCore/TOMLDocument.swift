import TOMLKit

/// An ordered TOML table that dosectl edits and writes back (`med`, `schedule`, `pause`).
///
/// Read through TOMLKit, edited as plain values, written with keys in the order SPEC 3 shows them.
public struct TOMLDocument: Sendable, Equatable {
    /// A TOML value.
    public indirect enum Value: Sendable, Equatable {
        case string(String)
        /// Integers, floats, booleans, dates and times, as TOML text.
        case literal(String)
        case array([Value])
        case table(TOMLDocument)
    }

    public private(set) var entries: [(key: String, value: Value)] = []

    public init() {}

    public static func == (a: TOMLDocument, b: TOMLDocument) -> Bool {
        a.entries.map(\.key) == b.entries.map(\.key) && a.entries.map(\.value) == b.entries.map(\.value)
    }

    public subscript(key: String) -> Value? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    /// Parses TOML text (the caller reports syntax errors through ``ConfigDecoder``).
    public init(parsing text: String) throws {
        self.init(try TOMLTable(string: text))
    }

    init(_ table: TOMLTable) {
        for key in table.keys {
            if let value = table[key] { self[key] = Self.value(value) }
        }
    }

    private static func value(_ value: TOMLValueConvertible) -> Value {
        switch value.type {
        case .string: return .string(value.string ?? "")
        case .int: return .literal(String(value.int ?? 0))
        case .double: return .literal(String(value.double ?? 0))
        case .bool: return .literal(value.bool == true ? "true" : "false")
        case .array: return .array((value.array.map { Array($0) } ?? []).map(Self.value))
        case .table: return .table(value.table.map(TOMLDocument.init) ?? TOMLDocument())
        case .date:
            let d = value.date!
            return .literal(RFC3339.civil(WallTime(year: d.year, month: d.month, day: d.day)))
        case .time:
            let t = value.time!
            return .literal(RFC3339.clock(WallTime(year: 1970, month: 1, day: 1, hour: t.hour, minute: t.minute,
                                                   microsecond: t.second * 1_000_000 + t.nanoSecond / 1000)))
        case .dateTime:
            let dt = value.dateTime!
            let wall = WallTime(year: dt.date.year, month: dt.date.month, day: dt.date.day, hour: dt.time.hour,
                                minute: dt.time.minute, microsecond: dt.time.second * 1_000_000 + dt.time.nanoSecond / 1000)
            let offset = dt.offset.map { $0.offset == 0 ? "Z" : RFC3339.offset($0.offset * 60) } ?? ""
            return .literal(RFC3339.civil(wall) + "T" + RFC3339.clock(wall) + offset)
        }
    }

    // MARK: - Writing

    /// Key order of medication files, schedules and cycles (SPEC 3); others follow alphabetically.
    static let order = ["name", "dose", "route", "sites", "stock", "refill_at", "notes", "timezone",
                        "id", "on", "every", "first", "before", "window", "repeat", "escalate", "start", "end",
                        "cycle", "count", "anchor", "paused", "paused_until", "doses", "off", "defaults", "hooks", "schedule"]

    private var ordered: [(key: String, value: Value)] {
        entries.sorted { a, b in
            let i = Self.order.firstIndex(of: a.key) ?? Self.order.count
            let j = Self.order.firstIndex(of: b.key) ?? Self.order.count
            return i != j ? i < j : a.key < b.key
        }
    }

    /// TOML text: scalars and inline values first, then sub-tables and arrays of tables as sections.
    public func text(header: String? = nil) -> String {
        var lines: [String] = header.map { $0.split(separator: "\n", omittingEmptySubsequences: false).map { "# " + $0 } } ?? []
        if !lines.isEmpty { lines.append("") }
        write(into: &lines, path: [])
        return lines.joined(separator: "\n") + "\n"
    }

    private func write(into lines: inout [String], path: [String]) {
        var sections: [(String, Value)] = []
        for (key, value) in ordered {
            if case .table = value, path.isEmpty {
                sections.append((key, value))
            } else if case .array(let items) = value, !items.isEmpty,
                      items.allSatisfy({ if case .table = $0 { true } else { false } }) {
                sections.append((key, value))
            } else {
                lines.append("\(Self.key(key)) = \(Self.inline(value))")
            }
        }
        for (key, value) in sections {
            let name = (path + [Self.key(key)]).joined(separator: ".")
            switch value {
            case .table(let table):
                lines.append("")
                lines.append("[\(name)]")
                table.write(into: &lines, path: path + [Self.key(key)])
            case .array(let items):
                for case .table(let table) in items {
                    lines.append("")
                    lines.append("[[\(name)]]")
                    table.write(into: &lines, path: path + [Self.key(key)])
                }
            default: break
            }
        }
    }

    static func inline(_ value: Value) -> String {
        switch value {
        case .string(let text): return quote(text)
        case .literal(let text): return text
        case .array(let items): return "[" + items.map(inline).joined(separator: ", ") + "]"
        case .table(let table):
            return table.entries.isEmpty ? "{}" : "{ " + table.ordered.map { "\(key($0.key)) = \(inline($0.value))" }.joined(separator: ", ") + " }"
        }
    }

    static func key(_ key: String) -> String {
        let bare = !key.isEmpty && key.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        return bare ? key : quote(key)
    }

    /// A basic string with TOML escapes.
    public static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
