import DoseCore

/// The journal fields of an event (SPEC 5): `MESSAGE`, `PRIORITY`, `MESSAGE_ID` and the `DOSED_*`
/// fields that apply. Hooks get the `DOSED_*` ones as their environment.
public enum EventFields {
    /// Every field of `event`, `MESSAGE` first.
    public static func fields(_ event: Event, config: Configuration) -> [(String, String)] {
        var fields: [(String, String)] = [
            ("MESSAGE", message(event, config: config)),
            ("PRIORITY", String(event.priority)),
            ("MESSAGE_ID", event.kind.messageID),
            ("SYSLOG_IDENTIFIER", "dosed"),
            ("DOSED_EVENT", event.kind.rawValue),
        ]
        if let record = event.dose {
            let dose = record.dose
            fields.append(("DOSED_DOSE_ID", dose.id))
            fields.append(("DOSED_MEDICATION", dose.medication))
            fields.append(("DOSED_SCHEDULE", dose.schedule))
            fields.append(("DOSED_DUE", RFC3339.utc(dose.due)))
            if let site = record.site { fields.append(("DOSED_SITE", site)) }
        } else if let medication = event.medication {
            fields.append(("DOSED_MEDICATION", medication))
        }
        if let medication = config.medication(event.dose?.dose.medication ?? event.medication ?? "") {
            fields.append(("DOSED_MEDICATION_NAME", medication.name))
            // A dose's own schedule may set its dose and route (SPEC 10).
            let schedule = event.dose?.dose.schedule ?? ""
            if let dose = medication.dose(for: schedule) { fields.append(("DOSED_DOSE", dose)) }
            if let route = medication.route(for: schedule) { fields.append(("DOSED_ROUTE", route)) }
        }
        if event.late { fields.append(("DOSED_LATE", "1")) }
        if let stock = event.stock { fields.append(("DOSED_STOCK", String(stock))) }
        if let error = event.error { fields.append(("DOSED_ERROR", error)) }
        if let state = event.state { fields.append(("DOSED_STATE", state.rawValue)) }
        if let reason = event.reason { fields.append(("DOSED_REASON", reason)) }
        return fields
    }

    /// Only the `DOSED_*` fields, as `NAME=value` environment entries for hooks.
    public static func environment(_ event: Event, config: Configuration) -> [String: String] {
        Dictionary(fields(event, config: config).filter { $0.0.hasPrefix("DOSED_") }, uniquingKeysWith: { $1 })
    }

    /// A readable line: "Time for Interferon alfa, 3 million units, subcutaneous, thigh left — due 20:00".
    public static func message(_ event: Event, config: Configuration) -> String {
        guard let record = event.dose else {
            switch event.kind {
            case .lowStock:
                let name = config.medication(event.medication ?? "")?.name ?? event.medication ?? "?"
                return "Low stock: \(event.stock.map(String.init) ?? "few") dose(s) of \(name) left — time to refill"
            case .configLoaded:
                return "Configuration loaded" + (event.summary.map { ": \($0)" } ?? "")
            case .configError:
                return "Configuration file refused: \(event.error ?? "")"
            default:
                return event.kind.rawValue
            }
        }
        let medication = config.medication(record.dose.medication)
        var what = [medication?.name ?? record.dose.medication]
        if let dose = medication?.dose(for: record.dose.schedule) { what.append(dose) }
        if let route = medication?.route(for: record.dose.schedule) { what.append(route) }
        if let site = record.site, event.kind == .reminder || event.kind == .preReminder || event.kind == .taken {
            what.append(site)
        }
        let text = what.joined(separator: ", ")
        let zone = medication?.schedule(record.dose.schedule).map(config.zone(for:)) ?? config.zone
        let due = clock(record.dose.due, zone: zone)
        switch event.kind {
        case .reminder:
            // Repeats say which reminder they are, so a log read on a terminal tells them apart.
            let count = event.first ? "" : " (reminder \(record.reminders))"
            return (event.warning ? "Overdue: " : "Time for ") + text + " — due \(due)" + count + (event.late ? " (late reminder)" : "")
        case .preReminder:
            return "Coming up: \(text) — due \(due)"
        case .escalated:
            return "Still not taken: \(text) — due \(due)"
        case .missed:
            return "Missed: \(text) — was due \(due)"
        case .taken:
            let at = record.answeredAt.map { " at " + clock($0 - $0 % Civil.second, zone: zone) } ?? ""
            let stock = event.stock.map { "; \($0) left" } ?? ""
            let kind = record.dose.schedule == DoseID.asNeeded ? " (as needed)" : " (unscheduled)"
            return "Taken: \(text)\(at)" + (record.isExtra ? kind : " — due \(due)") + stock
        case .skipped:
            return "Skipped: \(text) — due \(due)" + (record.reason.map { " (\($0))" } ?? "")
        case .limitExceeded:
            return "Taken beyond its limit: \(event.error ?? text)"
        case .held:
            return "Held by the care team: \(text) — due \(due)" + (record.reason.map { " (\($0))" } ?? "")
        case .amended:
            let when = record.isExtra ? "taken \(due)" : "due \(due)"
            let what: String = switch event.state ?? .open {
            case .taken: "taken" + (record.answeredAt.map { " at " + clock($0 - $0 % Civil.second, zone: zone) } ?? "")
            case .open: "reopened"
            case .withdrawn: "withdrawn"
            case let state: state.rawValue
            }
            return "Corrected to \(what): \(text) — \(when)" + (event.reason.map { " (\($0))" } ?? "")
                + (event.stock.map { "; \($0) left" } ?? "")
        case .snoozed:
            let until = record.snoozedUntil.map { clock($0, zone: zone) } ?? "later"
            return "Snoozed until \(until): \(text) — due \(due)"
        default:
            return "\(event.kind.rawValue): \(text)"
        }
    }

    /// `20:00` (with seconds when set).
    static func clock(_ instant: Micros, zone: ZoneRules) -> String {
        let wall = WallTime(local: zone.wall(at: instant))
        let text = RFC3339.clock(wall)
        return text.hasSuffix(":00") && text.count == 8 ? String(text.dropLast(3)) : text
    }
}
