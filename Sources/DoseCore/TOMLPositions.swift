/// Where each key and value of a TOML document stands, by key path.
///
/// TOMLKit reports positions for syntax errors only; semantic errors (an unknown key, a bad
/// duration) need the position of the key or value they are about. This scanner walks a document
/// that already parsed and records, for every key path (`schedule[1].cycle.off`), the line and
/// column of the key and of its value, and of every array element.
public struct TOMLPositions: Sendable {
    /// A 1-based line and column (columns count characters).
    public struct Position: Sendable, Equatable, Comparable {
        public var line: Int
        public var column: Int
        public init(line: Int, column: Int) {
            self.line = line
            self.column = column
        }
        public static func < (a: Position, b: Position) -> Bool {
            (a.line, a.column) < (b.line, b.column)
        }
    }

    private var keys: [String: Position] = [:]
    private var values: [String: Position] = [:]

    /// Scans `text`, which TOMLKit has parsed without error.
    public init(scanning text: String) {
        var scanner = Scanner(Array(text.unicodeScalars))
        scanner.document(into: &self)
    }

    /// The position of the key at `path`, e.g. `["schedule", "1", "on"]`.
    public func key(_ path: [String]) -> Position? { keys[Self.join(path)] }

    /// The position of the value at `path` (for an array element, its index is the last component).
    public func value(_ path: [String]) -> Position? { values[Self.join(path)] }

    /// The best position for an error about `path`: its value, else its key, else its parent's.
    public func best(_ path: [String]) -> Position {
        var path = path
        while !path.isEmpty {
            if let position = values[Self.join(path)] ?? keys[Self.join(path)] { return position }
            path.removeLast()
        }
        return Position(line: 1, column: 1)
    }

    static func join(_ path: [String]) -> String { path.joined(separator: "\u{1F}") }

    fileprivate mutating func record(key path: [String], at position: Position) {
        let joined = Self.join(path)
        if keys[joined] == nil { keys[joined] = position }
    }

    fileprivate mutating func record(value path: [String], at position: Position) {
        values[Self.join(path)] = position
    }
}

private struct Scanner {
    let text: [Unicode.Scalar]
    var index = 0
    var line = 1
    var lineStart = 0
    /// Arrays of tables seen so far (joined paths) and their element counts.
    var tableArrays: [String: Int] = [:]

    init(_ text: [Unicode.Scalar]) { self.text = text }

    var position: TOMLPositions.Position { .init(line: line, column: index - lineStart + 1) }
    var current: Unicode.Scalar? { index < text.count ? text[index] : nil }

    mutating func advance() {
        if text[index] == "\n" {
            line += 1
            lineStart = index + 1
        }
        index += 1
    }

    mutating func skipBlanks() {
        while let c = current, c == " " || c == "\t" { advance() }
    }

    /// Blanks, newlines and comments.
    mutating func skipTrivia() {
        while let c = current {
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                advance()
            } else if c == "#" {
                while let d = current, d != "\n" { advance() }
            } else {
                break
            }
        }
    }

    mutating func document(into positions: inout TOMLPositions) {
        var table: [String] = []
        while true {
            skipTrivia()
            guard let c = current else { return }
            if c == "[" {
                let start = position
                advance()
                let isArray = current == "["
                if isArray { advance() }
                let names = dottedKey()
                skipBlanks()
                if current == "]" { advance() }
                if isArray, current == "]" { advance() }
                table = resolve(names, appending: isArray)
                positions.record(key: table, at: start)
                if isArray { positions.record(key: Array(table.dropLast()), at: start) }
            } else {
                let before = index
                keyValue(in: table, into: &positions)
                // Never stall on text the scanner does not understand: move on.
                if index == before { advance() }
            }
        }
    }

    /// A table header's path, with array-of-tables indices filled in.
    mutating func resolve(_ names: [String], appending isArray: Bool) -> [String] {
        var path: [String] = []
        for (i, name) in names.enumerated() {
            path.append(name)
            let joined = TOMLPositions.join(path)
            if isArray && i == names.count - 1 {
                let count = tableArrays[joined, default: 0]
                tableArrays[joined] = count + 1
                path.append(String(count))
            } else if let count = tableArrays[joined] {
                path.append(String(count - 1))
            }
        }
        return path
    }

    mutating func keyValue(in table: [String], into positions: inout TOMLPositions) {
        let start = position
        let path = table + dottedKey()
        positions.record(key: path, at: start)
        skipBlanks()
        if current == "=" { advance() }
        skipBlanks()
        value(at: path, into: &positions)
    }

    mutating func value(at path: [String], into positions: inout TOMLPositions) {
        positions.record(value: path, at: position)
        guard let c = current else { return }
        switch c {
        case "\"", "'":
            string()
        case "[":
            advance()
            var element = 0
            while true {
                skipTrivia()
                guard let d = current else { return }
                if d == "]" { advance(); return }
                if d == "," { advance(); continue }
                let before = index
                value(at: path + [String(element)], into: &positions)
                if index == before { advance() }
                element += 1
            }
        case "{":
            advance()
            while true {
                skipTrivia()
                guard let d = current else { return }
                if d == "}" { advance(); return }
                if d == "," { advance(); continue }
                let before = index
                keyValue(in: path, into: &positions)
                if index == before { advance() }
            }
        default:
            // Numbers, booleans, dates: up to a delimiter. A date-time may hold one space.
            while let d = current, !",]}#\n\r".unicodeScalars.contains(d) {
                if d == " " || d == "\t" {
                    let next = index + 1 < text.count ? text[index + 1] : " "
                    guard ("0"..."9").contains(next) else { break }
                }
                advance()
            }
        }
    }

    /// `a.b."c d"`: the key's parts, unquoted.
    mutating func dottedKey() -> [String] {
        var parts: [String] = []
        while true {
            skipBlanks()
            guard let c = current else { return parts }
            if c == "\"" || c == "'" {
                parts.append(string())
            } else {
                var name = ""
                while let d = current, d == "-" || d == "_" || d.properties.isAlphabetic || ("0"..."9").contains(d) {
                    name.unicodeScalars.append(d)
                    advance()
                }
                parts.append(name)
            }
            skipBlanks()
            guard current == "." else { return parts }
            advance()
        }
    }

    /// A basic, literal or multi-line string; returns its content (escapes kept only roughly).
    @discardableResult
    mutating func string() -> String {
        let quote = text[index]
        let triple = index + 2 < text.count && text[index + 1] == quote && text[index + 2] == quote
        var content = ""
        if triple {
            advance(); advance(); advance()
            while index < text.count {
                if text[index] == quote, index + 2 < text.count, text[index + 1] == quote, text[index + 2] == quote {
                    advance(); advance(); advance()
                    // Up to two more quotes may belong to the content.
                    while current == quote { advance() }
                    return content
                }
                if quote == "\"", text[index] == "\\" { advance() }
                if index < text.count { content.unicodeScalars.append(text[index]); advance() }
            }
            return content
        }
        advance()
        while let c = current, c != quote, c != "\n" {
            if quote == "\"", c == "\\" {
                advance()
                guard let escaped = current else { break }
                content.unicodeScalars.append(escaped)
            } else {
                content.unicodeScalars.append(c)
            }
            advance()
        }
        if current == quote { advance() }
        return content
    }
}
