/// What toml++ (under TOMLKit 0.6.0) cannot be given: text it mishandles instead of reporting.
///
/// A NUL ends its C string early (the rest of the file is silently ignored); other control
/// characters and a table header without a name (`[{x]`, `[=]`) trip its internal assertions,
/// which abort the process in a debug build and are undefined behaviour in a release build. TOML
/// forbids all of them, so they are reported here, with their place, before toml++ sees the text.
/// Found by the FuzzConfig fuzz target; FuzzTesting/FailCases/FuzzConfig keeps the inputs.
enum TOMLPrecheck {
    struct Problem {
        var line: Int
        var column: Int
        var message: String
    }

    static func problem(in text: String) -> Problem? {
        let scalars = Array(text.unicodeScalars)
        var line = 1
        var lineStart = 0
        var index = 0
        /// Inside a string: its delimiter (`"`, `'`, `"""` or `'''`).
        var string: String?
        var atLineStart = true
        func problem(_ message: String, at offset: Int) -> Problem {
            Problem(line: line, column: offset - lineStart + 1, message: message)
        }
        func starts(_ delimiter: String, at offset: Int) -> Bool {
            let d = Array(delimiter.unicodeScalars)
            guard offset + d.count <= scalars.count else { return false }
            return Array(scalars[offset..<(offset + d.count)]) == d
        }
        func isKeyStart(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
                || c == "\"" || c == "'"
        }
        while index < scalars.count {
            let c = scalars[index]
            if c.value == 0 { return problem("a NUL byte: the file is not TOML text", at: index) }
            if (c.value < 0x20 && c != "\t" && c != "\n" && c != "\r") || c.value == 0x7F {
                return problem("the control character U+\(hex(c.value)): the file is not TOML text (in a string, write it as an escape such as \\t)", at: index)
            }
            if c == "\n" {
                line += 1
                lineStart = index + 1
                index += 1
                if string == "\"" || string == "'" { string = nil }  // toml++ reports those
                atLineStart = string == nil
                continue
            }
            if let open = string {
                if open == "\"" || open == "\"\"\"", c == "\\" {
                    index += 2
                    continue
                }
                if starts(open, at: index) {
                    string = nil
                    index += open.unicodeScalars.count
                    continue
                }
                index += 1
                continue
            }
            if c == "#" {
                while index < scalars.count, scalars[index] != "\n" {
                    let d = scalars[index]
                    if (d.value < 0x20 && d != "\t" && d != "\r") || d.value == 0x7F {
                        return problem("the control character U+\(hex(d.value)) in a comment", at: index)
                    }
                    index += 1
                }
                continue
            }
            if c == " " || c == "\t" || c == "\r" {
                index += 1
                continue
            }
            if atLineStart, c == "[" {
                var next = index + 1
                if next < scalars.count, scalars[next] == "[" { next += 1 }
                while next < scalars.count, scalars[next] == " " || scalars[next] == "\t" { next += 1 }
                if next < scalars.count, scalars[next] != "]", scalars[next] != "\n", !isKeyStart(scalars[next]) {
                    return problem("a table header needs a name (a key such as [defaults] or [[schedule]])", at: next)
                }
            }
            atLineStart = false
            for delimiter in ["\"\"\"", "'''", "\"", "'"] where starts(delimiter, at: index) {
                string = delimiter
                index += delimiter.unicodeScalars.count
                break
            }
            if string == nil { index += 1 }
        }
        return nil
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
