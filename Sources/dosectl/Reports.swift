import ArgumentParser
import DoseCore
import DoseFiles
import DoseProtocol
import DoseStore
import Foundation

/// The history and its reports: the configuration and the store together (SPEC 8).
struct Reports {
    let config: Configuration
    let store: HistoryStore
    let now: Micros

    /// Opens the existing history; without one (nothing recorded yet), an empty one in memory, so
    /// every report is empty rather than an error (SPEC 8).
    init(global: GlobalOptions) throws {
        config = try global.loadConfiguration()
        do {
            store = try global.existingHistory() ?? HistoryStore()
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(message: "dosectl: \(error)")
        }
        now = currentInstant()
    }

    /// A row of the history: a dose or a diary note.
    enum Row {
        case dose(DoseRecord)
        case note(Note)
    }

    /// Every dose due in the period (answered, missed, open or to come) and every note, in time order.
    func history(since: Micros, until: Micros, medication: String?) throws -> [Row] {
        let stored = try store.records(since: since, until: until, medication: medication,
                                       answeredAhead: config.longestWindow)
        // Keyed by the dose itself: no id is formatted to match the config's doses to the stored.
        var byDose = Dictionary(stored.map { ($0.dose, $0) }, uniquingKeysWith: { $1 })
        let scheduled = config.dueRecords(
            since: since, until: until, now: now, medication: medication, stored: byDose,
            firstSeen: try store.firstSeen(), lastTaken: try lastTakes())
        for record in scheduled { byDose[record.dose] = record }
        var rows = byDose.values.map(Row.dose)
        if medication == nil {
            rows += try store.notes(since: since, until: until).map(Row.note)
        } else {
            let ids = Set(byDose.values.map(\.id))
            rows += try store.notes(since: since, until: until).filter { $0.dose.map(ids.contains) ?? false }.map(Row.note)
        }
        // Indices are sorted by keys made once, not rows: moving or even reading thousands of
        // records costs more than comparing them.
        let keys = rows.map(\.sortKey)
        return rows.indices.sorted { keys[$0] < keys[$1] }.map { rows[$0] }
    }

    /// The audit trail of the doses of a period (those ``history(since:until:medication:)``
    /// lists, and withdrawn takes), by dose, each dose's records oldest first (SPEC 10).
    func trail(since: Micros, until: Micros, medication: String?) throws -> [DueDose: [Change]] {
        let (end, overflow) = until.addingReportingOverflow(config.longestWindow)
        return try store.changes(since: since, until: overflow ? .max : end, medication: medication)
    }

    /// The last takes of the `anchor = "taken"` schedules, whose due times follow them.
    func lastTakes() throws -> [String: Micros] {
        try store.lastTakes(anchoredIn: config)
    }

    /// Adherence per medication and overall: SQL aggregation over the stored doses, plus the doses
    /// due since dosed last ran that nothing recorded yet.
    func adherence(since: Micros, until: Micros, medication: String?) throws -> [String: Tally] {
        var tallies = try store.tallies(since: since, until: until, medication: medication, now: now)
        let tailStart = max(since, try store.lastAlive() ?? since)
        let tailEnd = min(until, now + 1)
        if tailStart < tailEnd {
            let recorded = Set(try store.records(since: tailStart, until: tailEnd, medication: medication).map(\.id))
            for record in config.dueRecords(since: tailStart, until: tailEnd, now: now, medication: medication,
                                            stored: [:], firstSeen: try store.firstSeen(), lastTaken: try lastTakes())
            where !recorded.contains(record.id) {
                tallies[record.dose.medication, default: Tally()].add(Tally.outcome(record, now: now))
            }
        }
        return tallies
    }

    /// The rows as SPEC 8's JSON array: each a Dose with `"kind": "dose"` and its audit trail
    /// (SPEC 10's `changes`), or a note; UTF-8, handed to `write` in pieces of about 64 KiB (a
    /// 30-day history is thousands of rows, megabytes: one buffer is reused, not grown).
    func writeJSON(_ rows: [Row], trail: [DueDose: [Change]], to write: (UnsafeRawBufferPointer) -> Void) {
        let piece = 1 << 16
        var bytes: [UInt8] = []
        bytes.reserveCapacity(piece + (1 << 12))
        appendJSONArray(rows, to: &bytes) { row, bytes in
            switch row {
            case .dose(let record):
                DoseMessage.appendJSON(record, shown: config.shown(record.dose), now: now, kind: "dose",
                                       changes: trail[record.dose] ?? [], to: &bytes)
            case .note(let note):
                var o = JSONObjectText()
                o.add("kind", "note")
                o.add("at", RFC3339.utc(note.at))
                o.add("text", note.text)
                o.addIfPresent("dose", note.dose)
                o.addIfPresent("symptom", note.symptom)
                o.addIfPresent("severity", integer: note.severity.map(Int64.init))
                bytes.append(contentsOf: o.text.utf8)
            }
            if bytes.count >= piece {
                bytes.withUnsafeBytes(write)
                bytes.removeAll(keepingCapacity: true)
            }
        }
        bytes.withUnsafeBytes(write)
    }

    /// ``writeJSON(_:trail:to:)``'s text in one buffer.
    func json(_ rows: [Row], trail: [DueDose: [Change]]) -> [UInt8] {
        var all: [UInt8] = []
        writeJSON(rows, trail: trail) { all.append(contentsOf: $0) }
        return all
    }

    static let csvHeader = ["kind", "time", "id", "medication", "medication_name", "schedule", "due", "due_local",
                            "dose", "route", "site", "state", "answered_at", "late", "note", "symptom", "severity"]

    /// One CSV record (RFC 4180) per row, under ``csvHeader``.
    func csv(_ row: Row) -> [String] {
        switch row {
        case .dose(let record):
            let m = DoseMessage(record, config: config, now: now)
            return ["dose", m.due, m.id, m.medication, m.medication_name, m.schedule, m.due, m.due_local, m.dose ?? "",
                    m.route ?? "", m.site ?? "", m.state.rawValue, m.answered_at ?? "", m.late == true ? "yes" : "",
                    m.note ?? "", "", ""]
        case .note(let note):
            return ["note", RFC3339.utc(note.at), note.dose ?? "", "", "", "", "", "", "", "", "", "", "", "",
                    note.text, note.symptom ?? "", note.severity.map(String.init) ?? ""]
        }
    }

    static func csvLine(_ fields: [String]) -> String {
        fields.map { field in
            field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }.joined(separator: ",")
    }

    /// `--since`/`--until` as instants (usage errors when malformed or reversed).
    static func period(since: String?, until: String?, defaultSince: Micros?, zone: ZoneRules, now: Micros,
                       command: String) throws -> (Micros, Micros) {
        func parse(_ text: String, _ option: String) throws -> Micros {
            try instant(text, option: option, command: command, zone: zone, now: now, allowsDuration: option == "--since")
        }
        let end = try until.map { try parse($0, "--until") } ?? now
        // Without --since, the period starts at the default or, if --until is earlier, there.
        let start = try since.map { try parse($0, "--since") } ?? min(defaultSince ?? .min / 2, end)
        guard start <= end else {
            throw Failure(message: "dosectl \(command): --since is after --until", code: ExitStatus.usage)
        }
        return (start, end)
    }

    /// Fails for a medication neither configured nor in the history.
    func check(medication: String?, command: String) throws {
        guard let medication, config.medication(medication) == nil else { return }
        if try store.records(medication: medication).isEmpty {
            throw Failure(message: "dosectl \(command): no medication '\(medication)'")
        }
    }
}

extension Reports.Row {
    /// The history's order: by time; at one instant doses (by medication, then schedule, as
    /// `upcoming` orders them) before notes (by text).
    fileprivate var sortKey: (Micros, Int, String, String) {
        switch self {
        case .dose(let record): (record.dose.due, 0, record.dose.medication, record.dose.schedule)
        case .note(let note): (note.at, 1, note.text, "")
        }
    }
}
