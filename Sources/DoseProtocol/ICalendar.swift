import DoseCore

/// An iCalendar (RFC 5545) `VCALENDAR` of doses (SPEC 11): one `VEVENT` per dose, with a
/// `VALARM` at its due time and one per `before`, CRLF lines folded at 75 octets.
public enum ICalendar {
    /// One dose as a calendar event.
    public struct Event: Sendable, Equatable {
        public var uid: String
        public var start: Micros
        /// The dose's window: how long it can be taken.
        public var duration: Micros
        public var summary: String
        public var description: String
        /// How long before the start each alarm goes off (0: at the start).
        public var alarms: [Micros]

        public init(uid: String, start: Micros, duration: Micros, summary: String, description: String, alarms: [Micros]) {
            self.uid = uid
            self.start = start
            self.duration = duration
            self.summary = summary
            self.description = description
            self.alarms = alarms
        }
    }

    /// The event of an upcoming dose of `medication` (its schedule's window and `before` leads).
    public static func event(_ dose: DoseMessage, medication: Medication, schedule: Schedule) -> Event {
        let due = RFC3339.parse(dose.due) ?? 0
        var lines: [String] = []
        if let route = dose.route { lines.append("Route: \(route)") }
        if let site = dose.site { lines.append("Site: \(site)") }
        lines.append("Answer: dosectl take \(dose.id)")
        return Event(uid: dose.id + "@dosed", start: due, duration: schedule.window,
                     summary: [medication.name, dose.dose].compactMap { $0 }.joined(separator: " — "),
                     description: lines.joined(separator: "\n"),
                     alarms: [0] + schedule.before.sorted(by: >))
    }

    /// The whole calendar, made at `stamp` (`DTSTAMP`).
    public static func render(_ events: [Event], stamp: Micros) -> String {
        var lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//dosed//dosectl//EN", "CALSCALE:GREGORIAN"]
        for event in events {
            lines += [
                "BEGIN:VEVENT",
                "UID:" + text(event.uid),
                "DTSTAMP:" + utc(stamp),
                "DTSTART:" + utc(event.start),
                "DURATION:" + duration(event.duration),
                "SUMMARY:" + text(event.summary),
                "DESCRIPTION:" + text(event.description),
                "CATEGORIES:MEDICATION",
            ]
            for lead in event.alarms {
                lines += [
                    "BEGIN:VALARM",
                    "ACTION:DISPLAY",
                    "DESCRIPTION:" + text(event.summary),
                    "TRIGGER;RELATED=START:" + (lead > 0 ? "-" : "") + duration(lead),
                    "END:VALARM",
                ]
            }
            lines.append("END:VEVENT")
        }
        lines.append("END:VCALENDAR")
        return lines.map(fold).joined(separator: "\r\n") + "\r\n"
    }

    /// A content line folded at 75 octets (RFC 5545 3.1): each continuation starts with a space,
    /// and no UTF-8 sequence is split.
    public static func fold(_ line: String) -> String {
        var result = ""
        var octets = 0
        for character in line.unicodeScalars {
            let width = String(character).utf8.count
            if octets + width > 75 {
                result += "\r\n "
                octets = 1
            }
            result.unicodeScalars.append(character)
            octets += width
        }
        return result
    }

    /// A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and line breaks escaped.
    public static func text(_ value: String) -> String {
        var result = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": result += "\\\\"
            case ";": result += "\\;"
            case ",": result += "\\,"
            case "\n": result += "\\n"
            case "\r": break
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    /// A UTC DATE-TIME: `20261130T200000Z` (whole seconds).
    public static func utc(_ instant: Micros) -> String {
        // RFC 3339's form of the whole second, without its separators.
        RFC3339.utc(Civil.floorDiv(instant, Civil.second) * Civil.second).filter { $0 != "-" && $0 != ":" }
    }

    /// A DURATION (RFC 5545 3.3.6) of whole seconds: `PT2H`, `P1DT30M`, `PT1H0M5S`, `PT0S`.
    public static func duration(_ span: Micros) -> String {
        var seconds = Swift.max(0, span / Civil.second)
        if seconds == 0 { return "PT0S" }
        let days = seconds / 86_400
        seconds %= 86_400
        var text = "P" + (days > 0 ? "\(days)D" : "")
        guard seconds > 0 else { return text }
        let parts = [(seconds / 3600, "H"), (seconds / 60 % 60, "M"), (seconds % 60, "S")]
        // The time part runs from its first non-zero unit to its last, without gaps.
        let first = parts.firstIndex { $0.0 > 0 }!
        let last = parts.lastIndex { $0.0 > 0 }!
        text += "T" + parts[first...last].map { "\($0.0)\($0.1)" }.joined()
        return text
    }
}
