/// A strict JSON reader (RFC 8259) for socket lines.
///
/// Foundation's readers accept text that is not JSON (a trailing comma in an array or object),
/// which JSON-RPC must answer with -32700. This one accepts exactly RFC 8259's grammar, nests at
/// most ``maximumDepth`` deep (so a line of `[[[[…` cannot exhaust the stack), and never traps.
public enum JSONReader {
    /// Arrays and objects nested deeper than this are refused.
    public static let maximumDepth = 64

    /// Why a text is not JSON, and where (a byte offset).
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "\(reason) at byte \(offset + 1)" }
    }

    /// The value of a whole JSON text, or why it is not one.
    public static func parse(_ text: String) throws(Failure) -> JSONValue {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { throw parser.failure("unexpected text after the value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        func failure(_ reason: String) -> Failure { Failure(offset: index, reason: reason) }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ literal: String, _ value: JSONValue) throws(Failure) -> JSONValue {
            for byte in literal.utf8 {
                guard peek == byte else { throw failure("invalid literal") }
                index += 1
            }
            return value
        }

        mutating func value(depth: Int) throws(Failure) -> JSONValue {
            guard let byte = peek else { throw failure("unexpected end of text") }
            switch byte {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw failure("unexpected character")
            }
        }

        mutating func array(depth: Int) throws(Failure) -> JSONValue {
            guard depth <= JSONReader.maximumDepth else { throw failure("nested deeper than \(JSONReader.maximumDepth)") }
            index += 1
            var items: [JSONValue] = []
            skipSpace()
            if peek == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth))
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; return .array(items)
                default: throw failure("expected ',' or ']'")
                }
            }
        }

        mutating func object(depth: Int) throws(Failure) -> JSONValue {
            guard depth <= JSONReader.maximumDepth else { throw failure("nested deeper than \(JSONReader.maximumDepth)") }
            index += 1
            var members: [String: JSONValue] = [:]
            skipSpace()
            if peek == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw failure("expected a member name") }
                let key = try string()
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw failure("expected ':'") }
                index += 1
                skipSpace()
                members[key] = try value(depth: depth)
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"): index += 1; return .object(members)
                default: throw failure("expected ',' or '}'")
                }
            }
        }

        mutating func hexQuad() throws(Failure) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = peek else { throw failure("unexpected end of text in an escape") }
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw failure("bad \\u escape")
                }
                value = value * 16 + digit
                index += 1
            }
            return value
        }

        mutating func string() throws(Failure) -> String {
            index += 1
            var scalars = String.UnicodeScalarView()
            var run = index
            func flush(_ parser: Parser, upTo end: Int, into scalars: inout String.UnicodeScalarView) {
                if run < end { scalars.append(contentsOf: String(decoding: parser.bytes[run..<end], as: UTF8.self).unicodeScalars) }
            }
            while true {
                guard let byte = peek else { throw failure("unterminated string") }
                switch byte {
                case UInt8(ascii: "\""):
                    flush(self, upTo: index, into: &scalars)
                    index += 1
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flush(self, upTo: index, into: &scalars)
                    index += 1
                    guard let escape = peek else { throw failure("unterminated string") }
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{8}")
                    case UInt8(ascii: "f"): scalars.append("\u{C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try hexQuad()
                        if (0xD800...0xDBFF).contains(code) {
                            guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                                throw failure("lone surrogate in a \\u escape")
                            }
                            index += 2
                            let low = try hexQuad()
                            guard (0xDC00...0xDFFF).contains(low) else { throw failure("lone surrogate in a \\u escape") }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw failure("lone surrogate in a \\u escape") }
                        scalars.append(scalar)
                    default: throw failure("bad escape")
                    }
                    run = index
                case 0x00..<0x20:
                    throw failure("control character in a string")
                case 0x80...0xFF:
                    // Validate one UTF-8 sequence (RFC 3629: no overlongs, no surrogates).
                    let length: Int
                    switch byte {
                    case 0xC2...0xDF: length = 2
                    case 0xE0...0xEF: length = 3
                    case 0xF0...0xF4: length = 4
                    default: throw failure("invalid UTF-8")
                    }
                    guard index + length <= bytes.count else { throw failure("invalid UTF-8") }
                    for k in 1..<length where bytes[index + k] & 0xC0 != 0x80 { throw failure("invalid UTF-8") }
                    let second = bytes[index + 1]
                    if (byte == 0xE0 && second < 0xA0) || (byte == 0xED && second > 0x9F)
                        || (byte == 0xF0 && second < 0x90) || (byte == 0xF4 && second > 0x8F) {
                        throw failure("invalid UTF-8")
                    }
                    index += length
                default:
                    index += 1
                }
            }
        }

        /// A number: an integer literal that fits 64 bits stays exact (`.integer`: request ids
        /// above 2^53 come back as sent); any other is a double.
        mutating func number() throws(Failure) -> JSONValue {
            let start = index
            if peek == UInt8(ascii: "-") { index += 1 }
            guard let first = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw failure("bad number") }
            index += 1
            if first != UInt8(ascii: "0") { digits() }
            let integral = peek != UInt8(ascii: ".") && peek != UInt8(ascii: "e") && peek != UInt8(ascii: "E")
            if integral, let exact = Int64(String(decoding: bytes[start..<index], as: UTF8.self)) { return .integer(exact) }
            if peek == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw failure("bad number") }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                index += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw failure("bad number") }
            }
            guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)), value.isFinite else {
                throw Failure(offset: start, reason: "number out of range")
            }
            return .number(value)
        }

        @discardableResult
        mutating func digits() -> Int {
            let start = index
            while let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
            return index - start
        }
    }
}
