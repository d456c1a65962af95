/// A strict recognizer of TOML 1.0's grammar, run before toml++ sees a file.
///
/// toml++ (under TOMLKit 0.6.0, the version we can use) mishandles some malformed text instead of
/// reporting it: a NUL ends its C string early (the rest of the file is silently ignored), and
/// inputs such as `[{x]` or `t = 07:3` trip its internal assertions, which abort the process in a
/// debug build and are undefined behaviour in a release build. A configuration file is typed by a
/// person, so a typo must be an error with its place, never a dead daemon. This recognizer
/// accepts exactly TOML 1.0's syntax (no values are built), so toml++ only ever parses
/// well-formed text and reports what remains (a key defined twice, a table redefined). The
/// FuzzConfig fuzz target checks that toml++ never crashes on what passes here.
enum TOMLPrecheck {
    struct Problem: Error {
        var offset: Int
        var message: String
    }

    /// The first syntax error of `text`, with its line and column, or nil when it is TOML.
    static func problem(in text: String) -> (line: Int, column: Int, message: String)? {
        var reader = Reader(bytes: Array(text.utf8))
        do {
            try reader.document()
            return nil
        } catch {
            let bytes = reader.bytes
            let offset = min(error.offset, bytes.count)
            let before = bytes[..<offset]
            let line = before.filter { $0 == 0x0A }.count + 1
            let lineStart = before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
            let column = String(decoding: bytes[lineStart..<offset], as: UTF8.self).unicodeScalars.count + 1
            return (line, column, error.message)
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        var depth = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }
        func peek(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }

        func fail(_ message: String, at offset: Int? = nil) -> Problem {
            Problem(offset: offset ?? index, message: message)
        }

        func starts(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            return text.withUTF8Buffer { prefix in
                for k in 0..<count where bytes[index + k] != prefix[k] { return false }
                return true
            }
        }

        /// The problem with a control character, named for the reader.
        func controlCharacter(_ byte: UInt8) -> Problem {
            if byte == 0 { return fail("a NUL byte: the file is not TOML text") }
            let digits = String(byte, radix: 16, uppercase: true)
            return fail("the control character U+" + String(repeating: "0", count: 4 - digits.count) + digits
                        + ": not allowed in TOML (in a string, write it as an escape such as \\t)")
        }

        static func isControl(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != 0x09) || byte == 0x7F }
        static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
        static func isBareKey(_ byte: UInt8) -> Bool {
            isDigit(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F || byte == 0x2D
        }

        mutating func whitespace() {
            while let c = current, c == 0x20 || c == 0x09 { index += 1 }
        }

        /// A line end (LF or CRLF); false when there is none here.
        mutating func newline() throws(Problem) -> Bool {
            if current == 0x0A { index += 1; return true }
            if current == 0x0D {
                guard peek(1) == 0x0A else { throw fail("a carriage return without a line feed") }
                index += 2
                return true
            }
            return false
        }

        mutating func comment() throws(Problem) {
            guard current == UInt8(ascii: "#") else { return }
            index += 1
            while let c = current, c != 0x0A {
                if c == 0x0D, peek(1) == 0x0A { return }
                if Self.isControl(c) { throw controlCharacter(c) }
                index += 1
            }
        }

        /// Blanks, comments and line ends, as arrays allow between values.
        mutating func blankLines() throws(Problem) {
            while true {
                whitespace()
                try comment()
                if try !newline() { return }
            }
        }

        mutating func endOfLine() throws(Problem) {
            whitespace()
            try comment()
            guard let c = current else { return }
            if Self.isControl(c) && c != 0x0A && c != 0x0D { throw controlCharacter(c) }
            guard try newline() else {
                throw fail("unexpected '\(String(decoding: [current!], as: UTF8.self))': expected the end of the line")
            }
        }

        mutating func document() throws(Problem) {
            while current != nil {
                whitespace()
                if current == UInt8(ascii: "#") || current == 0x0A || current == 0x0D {
                    try endOfLine()
                } else if current == UInt8(ascii: "[") {
                    try tableHeader()
                    try endOfLine()
                } else if current != nil {
                    try keyValue()
                    try endOfLine()
                }
            }
        }

        mutating func tableHeader() throws(Problem) {
            let start = index
            index += 1
            let array = current == UInt8(ascii: "[")
            if array { index += 1 }
            whitespace()
            guard let c = current, Self.isBareKey(c) || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") else {
                throw fail("a table header needs a name (a key such as [defaults] or [[schedule]])")
            }
            try key()
            whitespace()
            guard current == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
            index += 1
            if array {
                guard current == UInt8(ascii: "]") else { throw fail("expected ']]' to close the table header", at: start) }
                index += 1
            }
        }

        mutating func key() throws(Problem) {
            while true {
                try simpleKey()
                whitespace()
                guard current == UInt8(ascii: ".") else { return }
                index += 1
                whitespace()
            }
        }

        mutating func simpleKey() throws(Problem) {
            switch current {
            case UInt8(ascii: "\"")?:
                if starts("\"\"\"") { throw fail("a key cannot be a multi-line string") }
                try basicString()
            case UInt8(ascii: "'")?:
                if starts("'''") { throw fail("a key cannot be a multi-line string") }
                try literalString()
            case let c? where Self.isBareKey(c):
                while let d = current, Self.isBareKey(d) { index += 1 }
            case let c?:
                if Self.isControl(c) && c != 0x0A && c != 0x0D { throw controlCharacter(c) }
                throw fail("expected a key (letters, digits, '_' and '-', or a quoted string)")
            case nil:
                throw fail("expected a key at the end of the file")
            }
        }

        mutating func keyValue() throws(Problem) {
            try key()
            whitespace()
            guard current == UInt8(ascii: "=") else { throw fail("expected '=' after the key") }
            index += 1
            whitespace()
            try value()
        }

        mutating func value() throws(Problem) {
            guard let c = current else { throw fail("expected a value at the end of the file") }
            switch c {
            case UInt8(ascii: "\""):
                if starts("\"\"\"") { try multilineBasicString() } else { try basicString() }
            case UInt8(ascii: "'"):
                if starts("'''") { try multilineLiteralString() } else { try literalString() }
            case UInt8(ascii: "["):
                try array()
            case UInt8(ascii: "{"):
                try inlineTable()
            case UInt8(ascii: "t"):
                guard starts("true") else { throw fail("expected a value") }
                index += 4
            case UInt8(ascii: "f"):
                guard starts("false") else { throw fail("expected a value") }
                index += 5
            case UInt8(ascii: "i"), UInt8(ascii: "n"), UInt8(ascii: "+"), UInt8(ascii: "-"):
                try number()
            case let d where Self.isDigit(d):
                if isDateAhead() { try dateTime() } else { try number() }
            default:
                if Self.isControl(c) && c != 0x0A && c != 0x0D { throw controlCharacter(c) }
                throw fail("expected a value (a string, number, true/false, date, array or { table })")
            }
        }

        mutating func nested<T>(_ body: (inout Reader) throws(Problem) -> T) throws(Problem) -> T {
            depth += 1
            defer { depth -= 1 }
            guard depth <= 64 else { throw fail("arrays and tables nested more than 64 deep") }
            return try body(&self)
        }

        mutating func array() throws(Problem) {
            try nested { (r: inout Reader) throws(Problem) in
                r.index += 1
                try r.blankLines()
                while r.current != UInt8(ascii: "]") {
                    try r.value()
                    try r.blankLines()
                    if r.current == UInt8(ascii: ",") {
                        r.index += 1
                        try r.blankLines()
                    } else if r.current != UInt8(ascii: "]") {
                        throw r.fail(r.current == nil ? "unterminated array: expected ']'" : "expected ',' or ']' in the array")
                    }
                }
                r.index += 1
            }
        }

        mutating func inlineTable() throws(Problem) {
            try nested { (r: inout Reader) throws(Problem) in
                r.index += 1
                r.whitespace()
                if r.current == UInt8(ascii: "}") { r.index += 1; return }
                while true {
                    try r.keyValue()
                    r.whitespace()
                    if r.current == UInt8(ascii: "}") { r.index += 1; return }
                    guard r.current == UInt8(ascii: ",") else {
                        throw r.fail("expected ',' or '}' in the inline table (it must stay on one line)")
                    }
                    r.index += 1
                    r.whitespace()
                }
            }
        }

        // MARK: Strings

        mutating func escape() throws(Problem) {
            let start = index
            index += 1
            guard let c = current else { throw fail("unterminated string") }
            index += 1
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                 UInt8(ascii: "r"), UInt8(ascii: "t"):
                return
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let count = c == UInt8(ascii: "u") ? 4 : 8
                var value: UInt32 = 0
                for _ in 0..<count {
                    guard let h = current, let digit = Self.hexValue(h) else { throw fail("bad \\\(c == 0x75 ? "u" : "U") escape: \(count) hex digits expected", at: start) }
                    value = value &* 16 &+ digit
                    index += 1
                }
                guard Unicode.Scalar(value) != nil else { throw fail("the escape names no Unicode scalar value", at: start) }
            default:
                throw fail("unknown escape '\\\(String(decoding: [c], as: UTF8.self))' (use \\\" \\\\ \\b \\f \\n \\r \\t \\uXXXX)", at: start)
            }
        }

        static func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case 0x30...0x39: UInt32(byte - 0x30)
            case 0x41...0x46: UInt32(byte - 0x41 + 10)
            case 0x61...0x66: UInt32(byte - 0x61 + 10)
            default: nil
            }
        }

        mutating func basicString() throws(Problem) {
            let start = index
            index += 1
            while true {
                guard let c = current, c != 0x0A, c != 0x0D else {
                    throw fail("unterminated string (a string needs its closing quote on the same line; use \"\"\" for several lines)", at: start)
                }
                if c == UInt8(ascii: "\"") { index += 1; return }
                if c == UInt8(ascii: "\\") { try escape(); continue }
                if Self.isControl(c) { throw controlCharacter(c) }
                index += 1
            }
        }

        mutating func literalString() throws(Problem) {
            let start = index
            index += 1
            while true {
                guard let c = current, c != 0x0A, c != 0x0D else {
                    throw fail("unterminated string (a string needs its closing quote on the same line; use ''' for several lines)", at: start)
                }
                if c == UInt8(ascii: "'") { index += 1; return }
                if Self.isControl(c) { throw controlCharacter(c) }
                index += 1
            }
        }

        mutating func multilineBasicString() throws(Problem) {
            let start = index
            index += 3
            while true {
                guard let c = current else { throw fail("unterminated multi-line string: expected \"\"\"", at: start) }
                if starts("\"\"\"") {
                    index += 3
                    // Up to two more quotes belong to the string.
                    for _ in 0..<2 where current == UInt8(ascii: "\"") { index += 1 }
                    return
                }
                if c == UInt8(ascii: "\\") {
                    // A line-ending backslash, or an escape.
                    var probe = index + 1
                    while probe < bytes.count, bytes[probe] == 0x20 || bytes[probe] == 0x09 { probe += 1 }
                    if probe < bytes.count, bytes[probe] == 0x0A || (bytes[probe] == 0x0D && probe + 1 < bytes.count && bytes[probe + 1] == 0x0A) {
                        index = probe
                        continue
                    }
                    try escape()
                    continue
                }
                if try newline() { continue }
                if Self.isControl(c) { throw controlCharacter(c) }
                index += 1
            }
        }

        mutating func multilineLiteralString() throws(Problem) {
            let start = index
            index += 3
            while true {
                guard let c = current else { throw fail("unterminated multi-line string: expected '''", at: start) }
                if starts("'''") {
                    index += 3
                    for _ in 0..<2 where current == UInt8(ascii: "'") { index += 1 }
                    return
                }
                if try newline() { continue }
                if Self.isControl(c) { throw controlCharacter(c) }
                index += 1
            }
        }

        // MARK: Numbers

        /// Digits with single underscores between them; the count of digits.
        mutating func digits(_ isDigit: (UInt8) -> Bool) throws(Problem) -> Int {
            var count = 0
            while let c = current {
                if isDigit(c) {
                    count += 1
                    index += 1
                } else if c == UInt8(ascii: "_") {
                    guard count > 0, let next = peek(1), isDigit(next) else { throw fail("an underscore in a number must stand between digits") }
                    index += 1
                } else {
                    break
                }
            }
            return count
        }

        mutating func number() throws(Problem) {
            let start = index
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            if starts("inf") || starts("nan") { index += 3; return try numberEnd(start) }
            if index == start, current == UInt8(ascii: "0"), let p = peek(1),
               p == UInt8(ascii: "x") || p == UInt8(ascii: "o") || p == UInt8(ascii: "b") {
                index += 2
                let valid: (UInt8) -> Bool = p == UInt8(ascii: "x") ? { Self.hexValue($0) != nil }
                    : p == UInt8(ascii: "o") ? { (0x30...0x37).contains($0) } : { $0 == 0x30 || $0 == 0x31 }
                guard try digits(valid) > 0 else { throw fail("expected digits after the number's prefix", at: start) }
                return try numberEnd(start)
            }
            let integerStart = index
            guard try digits(Self.isDigit) > 0 else { throw fail("expected a value", at: start) }
            if bytes[integerStart] == UInt8(ascii: "0"), index - integerStart > 1 {
                throw fail("a number cannot start with 0 (leading zeros are not TOML)", at: start)
            }
            if current == UInt8(ascii: ".") {
                index += 1
                guard try digits(Self.isDigit) > 0 else { throw fail("expected digits after the decimal point", at: start) }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard try digits(Self.isDigit) > 0 else { throw fail("expected digits in the exponent", at: start) }
            }
            try numberEnd(start)
        }

        /// A number ends at a blank, a comma, a bracket, a comment or the line's end.
        func numberEnd(_ start: Int) throws(Problem) {
            guard let c = current else { return }
            switch c {
            case 0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"): return
            default: break
            }
            throw fail("not a number, a date or a string (strings need quotes)", at: start)
        }

        // MARK: Dates and times

        /// `YYYY-` or `HH:` ahead: a date or a time rather than a number.
        func isDateAhead() -> Bool {
            var probe = index
            while probe < bytes.count, Self.isDigit(bytes[probe]) { probe += 1 }
            guard probe < bytes.count else { return false }
            return (probe - index == 4 && bytes[probe] == UInt8(ascii: "-")) || (probe - index == 2 && bytes[probe] == UInt8(ascii: ":"))
        }

        mutating func fixedDigits(_ count: Int, _ what: String, _ range: ClosedRange<Int>, start: Int) throws(Problem) -> Int {
            var value = 0
            for _ in 0..<count {
                guard let c = current, Self.isDigit(c) else { throw fail("bad \(what): \(count) digits expected", at: start) }
                value = value * 10 + Int(c - 0x30)
                index += 1
            }
            guard range.contains(value) else { throw fail("bad \(what): \(value) is not \(range.lowerBound) to \(range.upperBound)", at: start) }
            return value
        }

        mutating func expect(_ byte: UInt8, _ message: String, start: Int) throws(Problem) {
            guard current == byte else { throw fail(message, at: start) }
            index += 1
        }

        mutating func dateTime() throws(Problem) {
            let start = index
            if peek(2) == UInt8(ascii: ":") {
                try time(start: start)
                return try numberEnd(start)
            }
            let year = try fixedDigits(4, "date", 0...9999, start: start)
            try expect(UInt8(ascii: "-"), "bad date: expected YYYY-MM-DD", start: start)
            let month = try fixedDigits(2, "month", 1...12, start: start)
            try expect(UInt8(ascii: "-"), "bad date: expected YYYY-MM-DD", start: start)
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
            _ = try fixedDigits(2, "day", 1...days, start: start)
            // A time follows a `T` or one space (then a digit).
            if let c = current, c == UInt8(ascii: "T") || c == UInt8(ascii: "t")
                || (c == 0x20 && peek(1).map(Self.isDigit) == true) {
                index += 1
                try time(start: start)
                if current == UInt8(ascii: "Z") || current == UInt8(ascii: "z") {
                    index += 1
                } else if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") {
                    index += 1
                    _ = try fixedDigits(2, "offset hour", 0...23, start: start)
                    try expect(UInt8(ascii: ":"), "bad offset: expected ±HH:MM", start: start)
                    _ = try fixedDigits(2, "offset minute", 0...59, start: start)
                }
            }
            try numberEnd(start)
        }

        mutating func time(start: Int) throws(Problem) {
            _ = try fixedDigits(2, "hour", 0...23, start: start)
            try expect(UInt8(ascii: ":"), "bad time: expected HH:MM:SS", start: start)
            _ = try fixedDigits(2, "minute", 0...59, start: start)
            try expect(UInt8(ascii: ":"), "bad time: expected HH:MM:SS (seconds are required)", start: start)
            _ = try fixedDigits(2, "second", 0...60, start: start)
            if current == UInt8(ascii: ".") {
                index += 1
                guard try digits(Self.isDigit) > 0 else { throw fail("bad time: expected digits after the decimal point", at: start) }
            }
        }
    }
}
