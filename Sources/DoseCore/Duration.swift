/// Durations as the config and CLI write them: `<integer><unit>` runs such as `1h30m` (SPEC 3).
public enum DurationText {
    private static let units: [Character: Micros] = [
        "s": Civil.second, "m": Civil.minute, "h": Civil.hour, "d": Civil.day, "w": 7 * Civil.day,
    ]

    /// The longest duration accepted anywhere: 3650 days (about ten years). Every duration a user
    /// gives is checked against it, so no sum of a due time and a duration can overflow.
    public static let maximum: Micros = 3650 * Civil.day

    /// Microseconds, or a message saying what is wrong. `"0"` alone is zero.
    public static func parse(_ text: String) -> Result<Micros, DurationError> {
        if text == "0" { return .success(0) }
        guard !text.isEmpty else { return .failure(DurationError(text: text, reason: "is empty")) }
        let tooLong = DurationError(text: text, reason: "is too long: the longest allowed is 3650d (about ten years)")
        var total: Micros = 0
        var number: Micros?
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                let next = (number ?? 0).multipliedReportingOverflow(by: 10)
                guard !next.overflow, next.partialValue <= maximum else { return .failure(tooLong) }
                number = next.partialValue + Micros(digit)
            } else if let unit = units[character] {
                guard let value = number else {
                    return .failure(DurationError(text: text, reason: "has a unit '\(character)' without a number before it"))
                }
                // value ≤ maximum (in µs, ~3e14) and unit ≤ 6e11: the product may overflow, so check.
                let (part, overflowA) = value.multipliedReportingOverflow(by: unit)
                let (sum, overflowB) = total.addingReportingOverflow(part)
                guard !overflowA, !overflowB, sum <= maximum else { return .failure(tooLong) }
                total = sum
                number = nil
            } else {
                return .failure(DurationError(text: text, reason: "has '\(character)', which is no unit (use s, m, h, d or w)"))
            }
        }
        if number != nil {
            return .failure(DurationError(text: text, reason: "ends in a number without a unit (s, m, h, d or w)"))
        }
        return .success(total)
    }

    /// `1h30m`, `2d`, `0`.
    public static func format(_ micros: Micros) -> String {
        guard micros > 0 else { return "0" }
        var rest = micros / Civil.second
        var text = ""
        for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] as [(String, Micros)]
        where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }
}

/// A duration that could not be read.
public struct DurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String { "duration '\(text)' \(reason)" }
}
